"""A small, hand-made chain graph and CRM for the web tests (unit and browser).

Two sectors; the 新能源汽车 chain has 缺链, 弱链 and 强链 nodes, outside firms with ties to local
ones, and one outside firm whose name is an XSS probe. Users: one per role, known passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.services._common import SYSTEM
from crm.services.users import create_user
from crm.settings import CrmSettings as _CrmSettings
from graph.identity import uscc_check_char
from graph.model import Chain, ChainNode, Company, Flow, Sector, Supply, Zone
from graph.nx_store import NetworkxStore
from lianzhao.config import load_config

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

XSS_NAME = "<img src=x onerror=alert(1)>"
PASSWORD = "Lianzhao#2026web"
USERS = {  # username -> (display name, role, sector)
    "zhuanyuan": ("张专员", "recruiter", "nev"),
    "zhuanyuan2": ("赵专员", "recruiter", "medical"),
    "jingli": ("李经理", "manager", "nev"),
    "lingdao": ("王区长", "leader", None),
    "admin": ("系统管理员", "admin", None),
}
CHAIN = "nev_drive"
MISSING_NODE = f"{CHAIN}.controller"  # 电机控制器: no local firm, several outside candidates


def uscc(n: int) -> str:
    first17 = f"91110112MA{n:07d}".replace("I", "1")
    return first17 + uscc_check_char(first17)


def chain_data():
    sectors = [
        Sector("nev", "新能源智能汽车", "支柱产业", "分动器、电磁式智能扭矩管理器、控制器系统"),
        Sector("medical", "医药健康", "战略引擎", "高端医疗器械、生物创新药"),
    ]
    chains = [Chain(CHAIN, "新能源汽车动力总成", "nev"), Chain("med_device", "高端医疗器械", "medical")]
    n = lambda key, name, stage, imp, chain=CHAIN: ChainNode(f"{chain}.{key}", chain, name, stage, imp)
    nodes = [
        n("magnet", "稀土永磁材料", "上游", 4),
        n("chip", "功率半导体", "上游", 5),
        n("motor", "驱动电机", "中游", 4),
        n("controller", "电机控制器", "中游", 5),
        n("transfer", "分动器", "中游", 3),
        n("assembly", "整车集成", "下游", 5),
        n("implant", "植入材料", "上游", 4, "med_device"),
        n("joint", "人工关节", "中游", 5, "med_device"),
        n("hospital", "医疗服务", "下游", 3, "med_device"),
    ]
    f = lambda a, b, chain=CHAIN: Flow(f"{chain}.{a}", f"{chain}.{b}")
    flows = [
        f("magnet", "motor"),
        f("chip", "controller"),
        f("motor", "assembly"),
        f("controller", "assembly"),
        f("transfer", "assembly"),
        f("implant", "joint", "med_device"),
        f("joint", "hospital", "med_device"),
    ]
    zones = [
        Zone("xiji", "西集镇", "产业城镇", "通州区", ("nev",), ("新能源汽车",)),
        Zone("taima", "台马科技板块", "一极", "通州区", ("electronics",), ("集成电路",)),
        Zone("huoxian", "漷县镇", "产业城镇", "通州区", ("medical",), ("高端医疗器械",)),
    ]
    return sectors, chains, nodes, flows, zones


def companies():
    local = dict(province="北京市", city="北京市", district="通州区", is_local=True, synthetic=True)
    rows = [
        Company(
            "L1",
            "通州整车示例",
            uscc(1),
            zone_id="xiji",
            revenue=900000,
            qualifications=("链主", "上市"),
            node_ids=(f"{CHAIN}.assembly",),
            **local,
        ),
        Company(
            "L2",
            "运河汽车零部件",
            uscc(2),
            zone_id="xiji",
            revenue=80000,
            qualifications=("专精特新",),
            node_ids=(f"{CHAIN}.assembly",),
            **local,
        ),
        Company(
            "L3",
            "潞城车身制造",
            uscc(3),
            zone_id="taima",
            revenue=60000,
            node_ids=(f"{CHAIN}.assembly",),
            **local,
        ),
        Company(
            "L4", "永乐电机", uscc(4), zone_id="taima", revenue=20000, node_ids=(f"{CHAIN}.motor",), **local
        ),
        Company(
            "L5", "西集传动", uscc(5), zone_id="xiji", revenue=9000, node_ids=(f"{CHAIN}.transfer",), **local
        ),
        Company(
            "L6",
            "春立正达",
            uscc(6),
            zone_id="huoxian",
            revenue=120000,
            qualifications=("上市", "链主"),
            node_ids=("med_device.joint",),
            province="北京市",
            city="北京市",
            district="通州区",
            is_local=True,
        ),
    ]
    out = [
        Company(
            "O1",
            "精控电驱科技",
            uscc(11),
            province="北京市",
            city="北京市",
            district="海淀区",  # 中心城区: 疏解对接 is what the policy sanctions
            revenue=300000,
            qualifications=("专精特新", "小巨人"),
            node_ids=(f"{CHAIN}.controller",),
            synthetic=True,
        ),
        Company(
            "O2",
            XSS_NAME,
            uscc(12),
            province="天津市",
            city="天津市",
            revenue=200000,
            qualifications=("高新技术企业", "单项冠军"),
            node_ids=(f"{CHAIN}.controller",),
            synthetic=True,
        ),
        Company(
            "O3",
            "苏州功率芯片",
            uscc(13),
            province="江苏省",
            city="苏州市",
            revenue=500000,
            qualifications=("上市",),
            node_ids=(f"{CHAIN}.chip", f"{CHAIN}.controller"),
            synthetic=True,
        ),
        Company(
            "O4",
            "包头稀土磁材",
            uscc(14),
            province="内蒙古自治区",
            city="包头市",
            revenue=150000,
            node_ids=(f"{CHAIN}.magnet",),
            synthetic=True,
        ),
        Company(
            "O5",
            "常州电机",
            uscc(15),
            province="江苏省",
            city="常州市",
            revenue=70000,
            node_ids=(f"{CHAIN}.motor",),
            synthetic=True,
        ),
        Company(
            "O6",
            "天津植入材料",
            uscc(16),
            province="天津市",
            city="天津市",
            revenue=40000,
            qualifications=("专精特新",),
            node_ids=("med_device.implant",),
            synthetic=True,
        ),
    ]
    supplies = [
        Supply("O1", "L1", "电机控制器", 12000),
        Supply("L2", "O3", "结构件", 800),
        Supply("O2", "L1", "控制板", 3000),
    ]
    return rows + out, supplies


def build_store(path: Path | None) -> NetworkxStore:
    store = NetworkxStore(path)
    sectors, chains, nodes, flows, zones = chain_data()
    store.upsert_sectors(sectors)
    store.upsert_chains(chains)
    store.upsert_nodes(nodes)
    store.upsert_flows(flows)
    store.upsert_zones(zones)
    firms, supplies = companies()
    store.upsert_companies(firms)
    store.upsert_supplies(supplies)
    return store


@dataclass
class WebEnv:
    cfg: dict
    store: NetworkxStore
    session_factory: object
    folder: Path


def build_env(folder: Path) -> WebEnv:
    """Config pointing at `folder`, a seeded graph store, an upgraded CRM database with users."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = load_config(env={})
    cfg["instance"] = {"path": str(folder)}
    cfg["database"]["url"] = f"sqlite:///{folder / 'crm.sqlite3'}"
    cfg["web"]["secret_key"] = "test-secret-key-not-for-production"
    store = build_store(folder / "graph.sqlite3")
    engine = make_engine(cfg)
    upgrade(engine)
    sf = make_session_factory(engine)
    with unit_of_work(sf) as s:
        for username, (name, role, sector) in USERS.items():
            create_user(
                s,
                SYSTEM,
                username=username,
                display_name=name,
                role=role,
                password=PASSWORD,
                sector_id=sector,
                settings=SETTINGS,
            )
    return WebEnv(cfg, store, sf, folder)


def open_env(folder: Path) -> WebEnv:
    """Open an environment built earlier by build_env (and closed), e.g. a copied template."""
    cfg = load_config(env={})
    cfg["instance"] = {"path": str(folder)}
    cfg["database"]["url"] = f"sqlite:///{folder / 'crm.sqlite3'}"
    cfg["web"]["secret_key"] = "test-secret-key-not-for-production"
    store = NetworkxStore(folder / "graph.sqlite3")
    return WebEnv(cfg, store, make_session_factory(make_engine(cfg)), folder)


def close_env(env: WebEnv) -> None:
    env.store.close()
    env.session_factory.kw["bind"].dispose()
