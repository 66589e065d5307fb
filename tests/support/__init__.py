"""Test helpers shared by the suites (scripted loopback servers, builders). Not part of the product."""
