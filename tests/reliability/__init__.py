"""The reliability campaign's fast part: faults, load, interrupts and dropped answers, through both faces, each
answer checked against the simulator's world. docs/reliability.md states what the tests hold us to.

Layout: ``campaign.py`` draws a seeded gate (world, background fault, outage) and says what a right answer is;
``load.py`` waits on many pipelines at once and measures; ``interrupts.py`` raises a real signal at a chosen moment
of a gate. The ``bench/reliability_*.py`` scripts run the same code for longer and print the figures.
"""
