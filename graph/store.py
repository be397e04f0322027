"""The GraphStore contract every backend implements (embedded networkx, Neo4j).

One contract, one test suite (tests/contract/): a backend is correct when it passes it.
Every write method is atomic: it either applies completely or not at all. Reads return
plain model objects, sorted by id, so that two backends give identical answers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType

from .errors import Conflict, InvalidInput, LianzhaoError, NotFound, Unavailable
from .model import Chain, ChainNode, Company, CompanyAlias, Flow, NodeStats, Sector, Supply, Tie, Zone


class GraphStoreError(LianzhaoError):
    """A store refused a call or failed at it; `str(exc)` is a Chinese sentence a user can act on.

    Catch this for "the graph store said no". It is raised as one of the kinds below, so a caller
    (web/errors.py, the CLI) can also tell them apart by the kinds of graph/errors.py.
    """


class GraphStoreUnavailable(GraphStoreError, Unavailable):
    """The store cannot be reached or failed (server down, wrong address or credentials, file
    locked or unreadable, store closed); retrying later may help. Nothing was written."""


class InvalidGraphData(GraphStoreError, InvalidInput):
    """A batch item breaks a rule that needs no stored data (type, empty id, stage, NaN, a node
    its own parent, a self-flow or self-supply). Checked in graph/backend_checks.py; nothing written."""


class UnknownReference(GraphStoreError, NotFound):
    """A batch item names a sector, chain, node, zone or firm the store does not hold; nothing written."""


class GraphStoreConflict(GraphStoreError, Conflict):
    """A concurrent writer got in the way (same id created twice, source changed during sync)."""


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
        exist, else UnknownReference and nothing is written. Returns how many were written."""

    @abstractmethod
    def merge_companies(self, kept: Company, merged_id: str, supplies: Iterable[Supply]) -> None:
        """One transaction: replace firm `kept.id` by `kept` (as upsert_companies), add `supplies`
        (its ties taken over from the merged firm), delete firm `merged_id` with its ties, and record
        `merged_id` as an alias of `kept.id` (aliases that pointed at `merged_id` follow). Afterwards
        `company(merged_id)` answers the kept firm and `match_companies` finds it by the merged firm's
        credit code and name. The record itself is computed by graph/merge.py. UnknownReference when
        either firm is absent; InvalidGraphData when both are one."""

    @abstractmethod
    def upsert_aliases(self, aliases: Iterable[CompanyAlias]) -> int:
        """Record merged-away ids as they are (graph sync copies them); every `company_id` must be a
        stored firm, else UnknownReference and nothing is written. Returns how many were written."""

    @abstractmethod
    def company_aliases(self) -> list[CompanyAlias]:
        """Every merged-away id with the firm it now leads to, sorted by id."""

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
    def company(self, company_id: str) -> Company | None:
        """The firm with this id, or the firm it was merged into (merge_companies); the answer's
        `id` then differs from the one asked for."""

    @abstractmethod
    def companies(self, ids: Sequence[str]) -> list[Company]:
        """The companies with these ids that exist, sorted by id."""

    @abstractmethod
    def match_companies(self, usccs: Iterable[str], norm_names: Iterable[str]) -> dict[str, str]:
        """Map each given credit code or normalised name (graph.identity.normalize_name) that
        matches a stored company to that company's id. Used by import to update, not duplicate.
        A firm merged away (merge_companies) is matched by its credit code and name to the kept firm."""

    @abstractmethod
    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        """Companies operating in any of these nodes; `local` filters is_local. Sorted by id."""

    @abstractmethod
    def find_companies(self, text: str, limit: int = 50, include_inactive: bool = False) -> list[Company]:
        """Directory search: firms whose name, 曾用名 or credit code contains `text` (graph.identity.
        fold_search on both sides; any length, 1 character included). At most `limit` hits: names starting
        with the text first, then the others, each group sorted by id (which `limit` hits a common word returns
        is the backend's choice). 注销/吊销 firms only with `include_inactive`."""

    @abstractmethod
    def company_count(self, local: bool | None = None) -> int:
        """Stored firms; `local` filters is_local. Dead firms count here (they are stored), unlike
        in node_stats. Answered from counters, without reading the firms."""

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
        outside firms. Every node of the chain(s) has an entry, zeros included.

        Local output counts each firm's revenue once: a firm on k nodes adds revenue/k to each
        (backend_checks.output_micro, in integer micro-万元). Inactive firms (a Company `active`
        field, where present, false) count nowhere."""

    # ---- lifecycle ----------------------------------------------------------------------
    @abstractmethod
    def data_version(self) -> str:
        """Changes whenever data changes (any write call), so callers can cache analysis."""

    @abstractmethod
    def health(self) -> tuple[bool, str]:
        """(ok, Chinese one-line status) without raising."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
