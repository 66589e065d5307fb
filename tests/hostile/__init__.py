"""The hostile corpus: inputs an attacker, a broken server or a broken disk would hand us, kept as data.

Why a corpus: an adversarial review found classes of defects, not single inputs (a secret cut by a NUL and joined back
by cleaning; a DOCTYPE hidden in UTF-32; a ``Content-Length`` of superscript digits). Each class is pinned by a few
concrete cases here, and the property tests in ``test_properties.py`` generate many more of the same kind from the
strategies in ``strategies.py``. docs/security.md states what the cases hold us to.

Layout:

* ``corpus.py``: the cases, as plain data grouped by kind (log events, log text, JUnit files, special files,
  Markdown names, simulator requests), and the bounds the runner checks. Adding a case is adding one entry.
* ``test_corpus.py``: one runner per kind, parametrised over its cases.
* ``strategies.py`` and ``test_properties.py``: hypothesis strategies for hostile log texts and events (control
  characters, bidirectional controls, ANSI, secrets split across events and by control characters, huge lines),
  run against the public log, JUnit and report functions.

What every runner asserts:

1. **Only documented errors escape**: each case names the one error it may raise (``ModelError`` for a malformed
   log event, ``ReportError`` for a file we refuse, an HTTP status for the simulator), or none; anything else, and a
   traceback, fails the case.
2. **Work is bounded by counts, never by wall time**: the peak of traced memory (``tracemalloc``) while the case
   runs, the bytes a saved log takes on disk, the requests the simulator recorded. Timings belong in ``bench/``.
3. **What we promise holds on the output**: no secret, no control or bidirectional character, no DOCTYPE in a
   rewritten report, no live ``@mention`` in Markdown.

The client's cases (``CLIENT_CASES`` in ``corpus.py``: headers, bodies, servers with broken framing, redirect URLs)
run against ``tests/support/scripted_server.py``; its other promises have runners of their own:
``test_client_token.py`` (the token never reaches another host), ``test_client_bounds.py`` (deadline, size caps, no
decompression, linear log parsing: counted in bytes a trickling server got to send, requests, traced memory,
characters copied), ``test_client_queries.py`` (query stripping) and ``test_client_properties.py`` (hypothesis,
with the answer strategies of ``strategies.py``).
"""
