"""The GraphStore contract every backend implements (embedded networkx, Neo4j).

One contract, one test suite (tests/contract/): a backend is correct when it passes it.
Every write method is atomic: it either applies completely or not at all. Reads return
plain model objects, sorted by id, so that two backends give identical answers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from .model import Chain, ChainNode, Company, Flow, NodeStats, Sector, Supply, Tie, Zone


class GraphStoreError(Exception):
    """The store failed; `str(exc)` is a Chinese sentence a user can act on."""


class GraphStoreUnavailable(GraphStoreError):
    """The store cannot be reached (server down, wrong address, wrong credentials)."""


class GraphStore(ABC):
    # ---- writes (each call is one transaction) -------------------------------------------
    @abstractmethod
    def upsert_sectors(self, sectors: Iterable[Sector]) -> None: ...

    @abstractmethod
    def upsert_chains(self, chains: Iterable[Chain]) -> None: ...

    @abstractmethod
    def upsert_nodes(self, nodes: Iterable[ChainNode]) -> None:
        """Insert or replace nodes; a node's PART_OF edge follows its `parent_id`."""

    @abstractmethod
    def upsert_flows(self, flows: Iterable[Flow]) -> None:
        """Add FEEDS edges (idempotent)."""

    @abstractmethod
    def upsert_zones(self, zones: Iterable[Zone]) -> None: ...

    @abstractmethod
    def upsert_companies(self, companies: Iterable[Company]) -> int:
        """Insert or replace companies by id, replacing their OPERATES_IN links with
        `node_ids` and their LOCATED_IN link with `zone_id`. Returns how many were written."""

    @abstractmethod
    def upsert_supplies(self, supplies: Iterable[Supply]) -> int:
        """Insert or replace SUPPLIES edges keyed by (supplier, buyer, product). Both firms must
        exist, else GraphStoreError and nothing is written. Returns how many were written."""

    @abstractmethod
    def clear(self) -> None:
        """Remove everything (tests, `graph sync`)."""

    # ---- structure reads ----------------------------------------------------------------
    @abstractmethod
    def sectors(self) -> list[Sector]: ...

    @abstractmethod
    def chains(self, sector_id: str | None = None) -> list[Chain]: ...

    @abstractmethod
    def chain(self, chain_id: str) -> Chain | None: ...

    @abstractmethod
    def nodes(self, chain_id: str | None = None) -> list[ChainNode]: ...

    @abstractmethod
    def flows(self, chain_id: str | None = None) -> list[Flow]:
        """FEEDS edges whose source lies in the chain (all edges when None)."""

    @abstractmethod
    def zones(self) -> list[Zone]: ...

    # ---- company reads ------------------------------------------------------------------
    @abstractmethod
    def company(self, company_id: str) -> Company | None: ...

    @abstractmethod
    def companies(self, ids: Sequence[str]) -> list[Company]:
        """The companies with these ids that exist, sorted by id."""

    @abstractmethod
    def match_companies(self, usccs: Iterable[str], norm_names: Iterable[str]) -> dict[str, str]:
        """Map each given credit code or normalised name (graph.identity.normalize_name) that
        matches a stored company to that company's id. Used by import to update, not duplicate."""

    @abstractmethod
    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        """Companies operating in any of these nodes; `local` filters is_local. Sorted by id."""

    @abstractmethod
    def company_count(self, local: bool | None = None) -> int: ...

    @abstractmethod
    def supplies_of(self, company_id: str) -> list[Supply]:
        """Every SUPPLIES edge where the firm is supplier or buyer, sorted."""

    @abstractmethod
    def local_ties(self, company_ids: Iterable[str]) -> list[Tie]:
        """Supply relations between each given (outside) firm and local firms, both directions,
        sorted by (company_id, direction, local_id, product)."""

    @abstractmethod
    def company_ids(self) -> list[str]:
        """Every company id, sorted (bulk export: graph sync pages through them)."""

    @abstractmethod
    def supplies_from(self, supplier_ids: Iterable[str]) -> list[Supply]:
        """SUPPLIES edges whose supplier is one of these firms, each once, sorted."""

    # ---- aggregation --------------------------------------------------------------------
    @abstractmethod
    def node_stats(self, qualified: Iterable[str], chain_id: str | None = None) -> dict[str, NodeStats]:
        """Per chain node: local firms, local output, local firms holding any of `qualified`,
        outside firms. Every node of the chain(s) has an entry, zeros included."""

    # ---- lifecycle ----------------------------------------------------------------------
    @abstractmethod
    def data_version(self) -> str:
        """Changes whenever data changes (any write call), so callers can cache analysis."""

    @abstractmethod
    def health(self) -> tuple[bool, str]:
        """(ok, Chinese one-line status) without raising."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
