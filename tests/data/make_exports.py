"""Writes the sample exports in this folder, laid out as each source lays its files out.

Run `python tests/data/make_exports.py` after editing; the files are committed so the tests read them
as a bureau would hand them over. Firms are fictitious (示例); credit codes are valid GB 32100 codes with
the registration authority of their district (110112 = 通州区).

Layouts (from the vendors' export dialogs as of 2024):
* 企查查 (XLSX): a title row and a note row above the header; 统一社会信用代码 and 纳税人识别号 both present;
  国标行业 in four columns (门类..小类); money as 「5000万元人民币」; dates 2012-05-01.
* 天眼查 (XLSX): a title row; 公司名称; money as 「5000万人民币」 / 「3000万美元」; 企业标签.
* 启信宝 (CSV, GB18030): 经营状态 「存续（在营、开业、在册）」; dates 2012/5/1; 「-」 for empty.
* 国家企业信用信息公示系统 (CSV, UTF-8 with BOM, as copied from the 公示 page): 住所, 登记机关, dates 2012年5月1日,
  money 「5000.000000万人民币」, no 区县 column.
* 规上企业名录 (XLSX, district statistics bureau): title and unit rows, 单位详细名称, 行业代码, 营业收入(千元),
  从业人员期末人数.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from graph.identity import uscc_check_char  # noqa: E402


def code(region: str, serial: str) -> str:
    """A valid credit code: 91 (企业) + region + 9-char organisation code + check character."""
    body = "91" + region + serial
    return body + uscc_check_char(body)


TZ, CY, HD, SH, SZ, LF = (
    "110112",
    "110105",
    "110108",
    "310115",
    "440300",
    "131082",
)  # 通州 朝阳 海淀 浦东 深圳 三河

# name, region, district, status, capital, founded, industry(小类), products, scope, quals, former
FIRMS = [
    (
        "北京通州示例骨科器械有限公司",
        TZ,
        "通州区",
        "存续",
        "5000万元人民币",
        "2012-05-01",
        "3586",
        "医疗诊断、监护及治疗设备制造",
        "人工关节、脊柱内固定系统",
        "第三类医疗器械生产；医疗器械研发；技术服务",
        '国家级专精特新"小巨人"企业、高新技术企业',
        "北京通州示例医械科技有限公司",
    ),
    (
        "北京示例光刻材料科技有限公司",
        TZ,
        "通州区",
        "在业",
        "12,000万元人民币",
        "2015-03-18",
        "3985",
        "电子专用材料制造",
        "KrF光刻胶、ArF光刻胶",
        "电子专用材料制造；电子专用材料研发；货物进出口",
        "高企",
        "",
    ),
    (
        "北京示例食品有限公司",
        TZ,
        "通州区",
        "注销",
        "500万元人民币",
        "2008-11-02",
        "1491",
        "糕点、面包制造",
        "休闲食品、烘焙糕点",
        "食品生产；食品销售",
        "",
        "",
    ),
    (
        "上海示例半导体硅片有限公司",
        SH,
        "浦东新区",
        "存续",
        "3000万美元",
        "2010-07-12",
        "3985",
        "电子专用材料制造",
        "12英寸硅片、外延片",
        "半导体硅片研发、生产；技术进出口",
        "专精特新小巨人；A股上市",
        "",
    ),
    (
        "深圳示例储能技术有限公司",
        SZ,
        "南山区",
        "存续",
        "1.2亿元",
        "2016-09-30",
        "3841",
        "锂离子电池制造",
        "储能电池、储能电池系统",
        "电池制造；储能技术服务；货物进出口",
        "制造业单项冠军；瞪羚企业",
        "",
    ),
    (
        "北京朝阳示例控股有限公司",
        CY,
        "朝阳区",
        "吊销，未注销",
        "-",
        "2001-01-15",
        "7212",
        "投资与资产管理",
        "-",
        "投资管理；资产管理；企业管理咨询",
        "",
        "",
    ),
    (
        "三河示例机器人有限公司",
        LF,
        "三河市",
        "存续",
        "2000万元人民币",
        "2018-04-08",
        "3491",
        "工业机器人制造",
        "工业机器人、协作机器人",
        "工业机器人制造；智能机器人销售",
        "",
        "",
    ),
    (
        "北京海淀示例医药科技有限公司",
        HD,
        "海淀区",
        "迁出",
        "800万元人民币",
        "2014-06-20",
        "2761",
        "生物药品制造",
        "重组胰岛素、GLP-1类似物",
        "药品生产；医学研究和试验发展",
        "",
        "",
    ),
]


def rows_for(layout: str) -> list[list[str]]:
    out = []
    for i, (
        name,
        region,
        district,
        status,
        capital,
        founded,
        ind,
        ind_name,
        products,
        scope,
        quals,
        former,
    ) in enumerate(FIRMS):
        uscc = code(region, f"MA0{i:02d}XY{i % 10}0"[:9])
        year, month, day = founded.split("-")
        if layout == "qichacha":
            out.append(
                [
                    str(i + 1),
                    name,
                    status,
                    f"张{i}",
                    capital,
                    "-",
                    founded,
                    "2023-06-01",
                    "北京市" if region.startswith("11") else "其他",
                    "",
                    district,
                    f"010-6{i:07d}",
                    "-",
                    f"info{i}@example.com",
                    "-",
                    uscc,
                    uscc,
                    "",
                    "",
                    str(50 + i * 10),
                    "有限责任公司(自然人投资或控股)",
                    "制造业",
                    "",
                    "",
                    ind_name,
                    former,
                    "",
                    f"www.example{i}.com",
                    f"示例地址{i}号",
                    scope,
                    products,
                    quals,
                ]
            )
        elif layout == "tianyancha":
            cap = capital.replace("万元人民币", "万人民币")
            out.append(
                [
                    name,
                    status,
                    f"李{i}",
                    cap,
                    "-",
                    founded,
                    "2023-06-01",
                    f"{founded}至无固定期限",
                    "",
                    "",
                    district,
                    uscc,
                    uscc,
                    "",
                    "",
                    str(30 + i),
                    "有限责任公司",
                    ind_name,
                    former,
                    "",
                    f"示例注册地址{i}号",
                    "",
                    "",
                    f"010-8{i:07d}",
                    "",
                    f"t{i}@example.com",
                    "",
                    scope,
                    products,
                    quals.replace("、", "；"),
                ]
            )
        elif layout == "qixinbao":
            status_q = "存续（在营、开业、在册）" if status in ("存续", "在业") else status
            out.append(
                [
                    name,
                    uscc,
                    f"王{i}",
                    status_q,
                    f"{year}/{int(month)}/{int(day)}",
                    capital,
                    "-",
                    "",
                    "",
                    district,
                    "-",
                    "-",
                    "有限责任公司",
                    ind_name,
                    "-",
                    former or "-",
                    "-",
                    f"地址{i}",
                    scope,
                    products,
                    quals,
                ]
            )
        elif layout == "gsxt":
            cap = capital.replace("万元人民币", ".000000万人民币") if "万元人民币" in capital else capital
            addr = ("北京市通州区" if region == TZ else "其他省市") + f"示例路{i}号"
            authority = "北京市通州区市场监督管理局" if region == TZ else "其他市场监督管理局"
            status_g = "存续（在营、开业、在册）" if status in ("存续", "在业") else status
            out.append(
                [
                    uscc,
                    name,
                    "有限责任公司(自然人投资或控股)",
                    f"赵{i}",
                    cap,
                    f"{year}年{int(month)}月{int(day)}日",
                    f"{year}年{int(month)}月{int(day)}日",
                    "长期",
                    authority,
                    "2023年6月1日",
                    status_g,
                    addr,
                    scope,
                ]
            )
        elif layout == "guishang":
            if region != TZ:
                continue
            out.append(
                [
                    str(len(out) + 1),
                    uscc,
                    name,
                    ind,
                    ind_name,
                    "漷县镇",
                    "有限责任公司",
                    str(120 + i),
                    str(180000 + i * 1000),
                    str(200000 + i * 1000),
                ]
            )
    return out


HEADERS = {
    "qichacha": [
        "序号",
        "企业名称",
        "登记状态",
        "法定代表人",
        "注册资本",
        "实缴资本",
        "成立日期",
        "核准日期",
        "所属省份",
        "所属城市",
        "所属区县",
        "电话",
        "更多电话",
        "邮箱",
        "更多邮箱",
        "统一社会信用代码",
        "纳税人识别号",
        "注册号",
        "组织机构代码",
        "参保人数",
        "企业(机构)类型",
        "国标行业门类",
        "国标行业大类",
        "国标行业中类",
        "国标行业小类",
        "曾用名",
        "英文名",
        "网址",
        "企业地址",
        "经营范围",
        "主营产品",
        "企业标签",
    ],
    "tianyancha": [
        "公司名称",
        "登记状态",
        "法定代表人",
        "注册资本",
        "实缴资本",
        "成立日期",
        "核准日期",
        "营业期限",
        "所属省份",
        "所属城市",
        "所属区县",
        "统一社会信用代码",
        "纳税人识别号",
        "注册号",
        "组织机构代码",
        "参保人数",
        "公司类型",
        "所属行业",
        "曾用名",
        "英文名称",
        "注册地址",
        "最新年报地址",
        "网址",
        "电话",
        "其他电话",
        "邮箱",
        "其他邮箱",
        "经营范围",
        "主营产品",
        "企业标签",
    ],
    "qixinbao": [
        "企业名称",
        "统一社会信用代码",
        "法定代表人",
        "经营状态",
        "成立日期",
        "注册资本",
        "实缴资本",
        "所属省份",
        "所属城市",
        "所属区县",
        "电话",
        "邮箱",
        "企业类型",
        "所属行业",
        "参保人数",
        "曾用名",
        "官网",
        "企业地址",
        "经营范围",
        "主营产品",
        "资质荣誉",
    ],
    "gsxt": [
        "统一社会信用代码",
        "企业名称",
        "类型",
        "法定代表人",
        "注册资本",
        "成立日期",
        "营业期限自",
        "营业期限至",
        "登记机关",
        "核准日期",
        "登记状态",
        "住所",
        "经营范围",
    ],
    "guishang": [
        "序号",
        "统一社会信用代码",
        "单位详细名称",
        "行业代码",
        "行业名称",
        "所在乡镇",
        "登记注册类型",
        "从业人员期末人数",
        "营业收入(千元)",
        "工业总产值(千元)",
    ],
}


def write_xlsx(path: Path, title_rows: list[list[str]], header: list[str], rows: list[list[str]]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in [*title_rows, header, *rows]:
        ws.append(row)
    wb.save(path)


def main() -> None:
    write_xlsx(
        HERE / "qichacha_export.xlsx",
        [
            ["企查查企业数据导出（共 8 家企业）", "", "导出时间：2024-05-20 10:31"],
            ["说明：数据来源于企查查，仅供参考；如需引用请核实。"],
        ],
        HEADERS["qichacha"],
        rows_for("qichacha"),
    )
    write_xlsx(
        HERE / "tianyancha_export.xlsx",
        [["天眼查 · 批量导出 · 2024年05月20日"]],
        HEADERS["tianyancha"],
        rows_for("tianyancha"),
    )
    with open(HERE / "qixinbao_export.csv", "w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["启信宝-企业数据导出"])
        writer.writerow(HEADERS["qixinbao"])
        writer.writerows(rows_for("qixinbao"))
    with open(HERE / "gsxt_copy.csv", "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS["gsxt"])
        writer.writerows(rows_for("gsxt"))
    write_xlsx(
        HERE / "guishang_directory.xlsx",
        [["2023年通州区规模以上工业企业名录"], ["单位：千元、人"]],
        HEADERS["guishang"],
        rows_for("guishang"),
    )


if __name__ == "__main__":
    main()
