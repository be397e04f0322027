"""The merged all-chains ranking equals ChainService.targets, row for row."""

from __future__ import annotations

from graph.service import ChainService
from web.ranking import ranked_targets


def test_merge_matches_service(env):
    svc = ChainService(env.store, env.cfg)
    for sector in (None, "nev", "medical"):
        for status in (None, "缺链", "弱链"):
            for top in (1, 3, 50):
                expected = svc.targets(None, sector_id=sector, status=status, top=top)
                got = ranked_targets(svc, sector_id=sector, status=status, top=top)
                assert [(t.company_id, t.node_id) for t in got] == [
                    (t.company_id, t.node_id) for t in expected
                ]
