"""The model queue on a fake model: bounded admission, FIFO order, cancellation, follow-ups."""

import asyncio

import pytest

from app.answering.conversation import clean_rewrite, keyword_query, standalone_query
from app.answering.errors import QueueFull
from app.answering.queue import GenerationQueue
from tests.fakes import FakeGenerator

HISTORY = [
    {"role": "user", "content": "When do the ragd maintainers meet?"},
    {"role": "assistant", "content": "Every Tuesday."},
]


def test_admission_beyond_the_depth_is_refused_at_once_with_retry_after():
    queue = GenerationQueue(FakeGenerator(), depth=1)
    first, second = queue.reserve(), queue.reserve()  # one generating, one waiting
    with pytest.raises(QueueFull) as refused:
        queue.reserve()
    assert refused.value.retry_after >= 1 and queue.rejected == 1
    first.release()
    first.release()  # idempotent: the place is given back once
    assert queue.admitted == 1
    queue.reserve()
    second.release()


async def collect(slot, text=""):
    async for piece in slot.stream([{"role": "user", "content": "q"}], 50):
        text += piece
    return text


def test_requests_are_served_one_at_a_time_in_arrival_order():
    generator = FakeGenerator(answer="a b c", delay=0.01)
    queue = GenerationQueue(generator, depth=4)
    order = []

    async def one(i):
        with queue.reserve() as slot:
            await collect(slot)
            order.append(i)

    async def main():
        await asyncio.gather(*(one(i) for i in range(4)))

    asyncio.run(main())
    assert order == [0, 1, 2, 3]
    assert queue.admitted == 0 and queue.last.produced == 3 and not queue.last.cancelled


def test_closing_the_stream_stops_the_model_within_one_token():
    generator = FakeGenerator(answer="word " * 500, delay=0.005)
    queue = GenerationQueue(generator, depth=0)

    async def main():
        with queue.reserve() as slot:
            stream = slot.stream([{"role": "user", "content": "q"}], 500)
            assert await anext(stream)
            await stream.aclose()
        assert not queue.busy and queue.last.cancelled and queue.last.produced <= 2
        with queue.reserve() as slot:  # the model is free for the next request
            return await collect(slot)

    assert asyncio.run(main()).startswith("word")
    assert generator.cancelled.is_set()
    assert queue.cancelled == 1 and not queue.last.cancelled  # the second run was not cut


def test_follow_up_keywords_carry_the_topic_of_the_last_user_turn():
    query = keyword_query("And where?", HISTORY)
    assert query.startswith("And where?") and {"ragd", "maintainers", "meet"} <= set(query.split())


def test_model_rewrite_is_cleaned_or_rejected():
    assert clean_rewrite('Rewritten question: "Where do they meet?"\nmore', "And where?") == (
        "Where do they meet?"
    )
    assert clean_rewrite("And where?", "And where?") is None
    assert clean_rewrite("   ", "q") is None
    assert clean_rewrite("word " * 80, "q") is None


@pytest.mark.parametrize(
    ("mode", "answer", "how"),
    [
        ("off", "x", "none"),
        ("keywords", "x", "keywords"),
        ("model", "Where do the ragd maintainers meet?", "model"),
        ("model", "And where?", "keywords"),  # an echo adds nothing: fall back
    ],
)
def test_standalone_query_modes(mode, answer, how):
    queue = GenerationQueue(FakeGenerator(answer=answer))

    async def main():
        with queue.reserve() as slot:
            return await standalone_query(slot, "And where?", HISTORY, mode)

    query, made = asyncio.run(main())
    assert made == how
    assert ("maintainers" in query) == (how != "none")


def test_a_first_question_is_never_rewritten():
    generator = FakeGenerator()
    queue = GenerationQueue(generator)

    async def main():
        with queue.reserve() as slot:
            return await standalone_query(slot, "Where?", [], "model")

    assert asyncio.run(main()) == ("Where?", "none") and generator.prompts == []
