"""test_transcripts.py - replay every transcripts/*.xmpp against a fresh server.

A transcript is an exact client/server conversation written from the RFCs
(syntax: harness.Transcript). On a difference the failure shows the line,
the expected and the received XML, the conversation up to there and the
end of the server's log.
"""
from pathlib import Path

import pytest

from harness import Transcript

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.xmpp"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path, server_factory):
    t = Transcript(path)
    server = server_factory(**t.conf)
    try:
        t.run(server)
        failure = None
    except AssertionError as e:
        failure = str(e)
    if failure:
        pytest.fail(failure, pytrace=False)    # the transcript, not a traceback
