from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable[..., object])
REGISTRY: list[Callable[..., object]] = []


def task(func: F) -> F:
    REGISTRY.append(func)
    return func


def periodic(minutes: int) -> Callable[[F], F]:
    def deco(func: F) -> F:
        REGISTRY.append(func)
        return func
    return deco
