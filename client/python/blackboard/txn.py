"""The operations of a ``txn``: all commit as one revision, or none does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from .types import JsonPatch


@dataclass(frozen=True, slots=True)
class TxnPut:
    key: str
    value: Any
    if_version: int | None = None

    def to_wire(self) -> dict[str, Any]:
        op: dict[str, Any] = {"op": "put", "key": self.key, "value": self.value}
        if self.if_version is not None:
            op["ifVersion"] = self.if_version
        return op


@dataclass(frozen=True, slots=True)
class TxnPatch:
    key: str
    patch: JsonPatch
    if_version: int | None = None

    def to_wire(self) -> dict[str, Any]:
        op: dict[str, Any] = {"op": "patch", "key": self.key, "patch": self.patch}
        if self.if_version is not None:
            op["ifVersion"] = self.if_version
        return op


@dataclass(frozen=True, slots=True)
class TxnDelete:
    key: str
    if_version: int | None = None

    def to_wire(self) -> dict[str, Any]:
        op: dict[str, Any] = {"op": "delete", "key": self.key}
        if self.if_version is not None:
            op["ifVersion"] = self.if_version
        return op


TxnOp = Union[TxnPut, TxnPatch, TxnDelete]
