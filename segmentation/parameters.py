"""Frozen vs trainable parameter accounting, printed by `info` and in every report."""

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ParameterCount:
    frozen: int
    trainable: int

    @property
    def total(self) -> int:
        return self.frozen + self.trainable

    @property
    def trainable_fraction(self) -> float:
        return self.trainable / self.total if self.total else 0.0

    def describe(self) -> str:
        return (
            f"{self.total:,} parameters: {self.frozen:,} frozen, {self.trainable:,} trainable "
            f"({100 * self.trainable_fraction:.2f}% trainable)"
        )


def count_parameters(module: nn.Module) -> ParameterCount:
    """Counts each parameter once, even when modules share it."""
    unique = {id(p): p for p in module.parameters()}.values()
    trainable = sum(p.numel() for p in unique if p.requires_grad)
    return ParameterCount(frozen=sum(p.numel() for p in unique) - trainable, trainable=trainable)
