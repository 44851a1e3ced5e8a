"""The public API: every exported name resolves, and ``__all__`` is the export table."""

import chaosgrad


def test_every_public_name_resolves_and_all_is_the_export_table():
    assert sorted(chaosgrad.__all__) == sorted(chaosgrad._EXPORTS)
    for name in chaosgrad.__all__:
        assert getattr(chaosgrad, name) is not None, name


def test_star_import_gives_every_public_name():
    namespace = {}
    exec("from chaosgrad import *", namespace)
    missing = set(chaosgrad.__all__) - set(namespace)
    assert not missing
