"""Streamed text coalesced between the generating thread and the event loop: every token, in
order, the text before an error, the end; a burst costs one wake-up."""

import asyncio
import threading
from collections.abc import Iterator, Sequence

import pytest

from app.answering.queue import GenerationQueue, Pieces, joined
from models.generator import Message
from tests.fakes import FakeGenerator

ANSWER = " ".join(f"token{i}" for i in range(200))


def test_pieces_put_before_the_loop_looks_come_back_in_one_take_in_order():
    async def main() -> list[object]:
        pieces = Pieces(asyncio.get_running_loop())
        for i in range(5):
            pieces.put(f"t{i} ")
        end = object()
        pieces.put(end)
        taken = await pieces.take()
        assert taken[-1] is end
        return taken[:-1]

    assert asyncio.run(main()) == [f"t{i} " for i in range(5)]


def test_pieces_from_another_thread_wake_the_loop_once_per_burst():
    async def main() -> tuple[list[object], int]:
        loop = asyncio.get_running_loop()
        pieces, wakes = Pieces(loop), [0]
        original = loop.call_soon_threadsafe

        def counted(*args: object) -> object:
            wakes[0] += 1
            return original(*args)  # type: ignore[arg-type]

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        burst = threading.Thread(target=lambda: [pieces.put(f"{i}") for i in range(50)])
        burst.start()
        burst.join()  # the whole burst is in before the loop runs again
        return await pieces.take(), wakes[0]

    taken, wakes = asyncio.run(main())
    assert taken == [f"{i}" for i in range(50)] and wakes == 1


def test_joined_keeps_the_text_before_an_error_and_returns_the_error():
    error = RuntimeError("model failed")
    assert joined(["a", "b ", error, "never"]) == ("ab ", error)
    assert joined(["a", "b"]) == ("ab", None)


def stream_all(queue: GenerationQueue) -> list[str]:
    async def main() -> list[str]:
        events = []
        with queue.reserve() as slot:
            async for text in slot.stream([{"role": "user", "content": "q"}], 500):
                events.append(text)
        return events

    return asyncio.run(main())


@pytest.mark.parametrize("interval", [0.0, 0.02])
def test_a_coalesced_stream_delivers_every_token_in_order_and_ends(interval):
    generator = FakeGenerator(answer=ANSWER)
    queue = GenerationQueue(generator, interval=interval)
    events = stream_all(queue)
    assert "".join(events) == ANSWER
    assert all(events) and queue.last is not None
    assert queue.last.produced == 200 and not queue.last.cancelled


def test_a_fast_model_streamed_with_an_interval_sends_fewer_events_than_tokens():
    """The first token goes at once; the rest of a burst made within the interval follows in
    one event (a generator that finishes before the interval is up: no timing in question)."""
    gate = threading.Event()

    class Burst(FakeGenerator):
        def stream(
            self, messages: Sequence[Message], max_tokens: int, cancel: threading.Event, stop=()
        ) -> Iterator[str]:
            yield "first "
            gate.wait(10)  # the rest only once the first event was seen
            yield from (f"w{i} " for i in range(99))

    queue = GenerationQueue(Burst(), interval=0.3)  # the burst takes well under this

    async def main() -> list[str]:
        events = []
        with queue.reserve() as slot:
            async for text in slot.stream([{"role": "user", "content": "q"}], 500):
                events.append(text)
                gate.set()
        return events

    events = asyncio.run(main())
    assert events[0] == "first "
    assert "".join(events) == "first " + "".join(f"w{i} " for i in range(99))
    assert len(events) < 100


def test_an_error_after_some_tokens_delivers_them_then_raises():
    class Failing(FakeGenerator):
        def stream(self, messages, max_tokens, cancel, stop=()) -> Iterator[str]:
            yield "partial "
            yield "text "
            raise RuntimeError("the model broke")

    queue = GenerationQueue(Failing(), interval=0.01)
    received: list[str] = []

    async def main() -> None:
        with queue.reserve() as slot:
            async for text in slot.stream([{"role": "user", "content": "q"}], 50):
                received.append(text)

    with pytest.raises(RuntimeError, match="the model broke"):
        asyncio.run(main())
    assert "".join(received) == "partial text "
    assert queue.last is not None and not queue.last.cancelled
