"""test_im_transcripts.py - the IM error-case transcripts (transcripts/im-*.xmpp)
on their own, so `pytest tests/proto/test_im_*.py` covers them too.
test_transcripts.py replays them as well, with every other transcript.
"""
from pathlib import Path

import pytest

from harness import Transcript

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("im-*.xmpp"))


def test_im_transcripts_exist():
    assert len(TRANSCRIPTS) >= 6, TRANSCRIPTS


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_im_transcript(path, server_factory):
    t = Transcript(path)
    t.run(server_factory(**t.conf))
