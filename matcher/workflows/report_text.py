"""The words of ``report.html`` and the PNG charts, in Chinese (the default) and English.

- :data:`REASONS`: each unmet reason's name and what it asks the dispatcher to do;
- :data:`EXCLUSION_NAMES`: why a near volunteer did not go (``matcher explain``'s reasons);
- :data:`UI`: every other label of the page;
- :data:`METRIC_NAMES`: the scenario comparison's rows.

Category and skill names come from the taxonomy (``name_zh`` / ``name``), not from here.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["CHART", "EXCLUSION_NAMES", "LANGS", "METRIC_NAMES", "NOT_COMPARABLE", "REASONS", "UI", "WEEKDAYS", "Lang",
           "metric_name", "reason_text", "shown_value", "ui"]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

REASONS: dict[str, dict[Lang, tuple[str, str]]] = {
    "no_skilled_volunteer": {
        "zh": ("无人具备所需技能",
               "招募或培训具备该技能的志愿者，或转介专业机构（医院、律所、物业维修）。"),
        "en": ("nobody holds the skills",
               "Recruit or train volunteers with the skill, or refer the order to a professional service."),
    },
    "too_few_insured": {
        "zh": ("有技能的志愿者中投保的不够",
               "为更多志愿者办理意外保险，或与居民确认该服务是否确需投保志愿者。"),
        "en": ("too few of the skilled are insured",
               "Insure more volunteers (accident insurance), or check with the resident whether the order really "
               "needs insured volunteers."),
    },
    "team_too_small": {
        "zh": ("包干队伍中合格的人不够",
               "请包干队伍增派或招募成员，或解除包干，让其他队伍接单。"),
        "en": ("the team the order is reserved for is too small",
               "Ask the team to send or recruit more members, or release the block so that other teams can take it."),
    },
    "none_in_range": {
        "zh": ("有技能的志愿者都太远",
               "扩大服务圈（如 15 分钟到 20 分钟），或从邻近社区调派并安排交通。"),
        "en": ("the skilled are all too far",
               "Widen the travel circle (say 15 to 20 minutes), or send someone from a neighbouring community "
               "with transport."),
    },
    "none_available": {
        "zh": ("附近有技能的志愿者该时段都没空",
               "与居民商量换个时间，或请附近有技能的志愿者增加这个时段；长期缺口可定向招募。"),
        "en": ("the skilled nearby are not free then",
               "Agree another time with the resident, or ask skilled volunteers nearby to add this slot; "
               "recruit for slots that stay short."),
    },
    "capacity_taken": {
        "zh": ("候选志愿者已派往其他订单",
               "请候选志愿者多接一单（提高任务数或时长上限），或招募同时段的志愿者；看说明里是谁、被哪单占用。"),
        "en": ("the candidates were sent to other orders",
               "Ask a candidate to take one more (raise their task or hour cap), or recruit for this slot; the "
               "explanation names who and which orders took them."),
    },
    "crew_not_formed": {
        "zh": ("凑不齐最少人数，整组未派",
               "这类活动人不够就无法开展：招募或从邻近社区调派，凑足最少人数；或与主办方商量减少最少人数。"),
        "en": ("too few could go to form the crew",
               "A crew that cannot run half-staffed goes out whole or not at all: recruit or borrow from a "
               "neighbouring community up to the minimum, or agree a smaller minimum with the organiser."),
    },
    "not_searched": {
        "zh": ("时间上限内未来得及查找候选志愿者",
               "本次运行的时间上限太短（或机器太忙），这单还没查找谁能接：放宽时间上限后重新运行。"),
        "en": ("the time limit ended the search before this order",
               "The run's time limit was too short (or the machine too busy) to look for who could take this "
               "order: run again with a longer time limit."),
    },
}
"""Unmet reason -> language -> (name, what the dispatcher can do); :func:`reason_text` for any reason."""

EXCLUSION_NAMES: dict[str, dict[Lang, str]] = {
    "assigned": {"zh": "已派", "en": "assigned"},
    "free": {"zh": "有空，可派", "en": "free: could go"},
    "busy": {"zh": "时间冲突（已派往重叠订单）", "en": "busy with an overlapping order"},
    "no_time_to_travel": {"zh": "前后两单之间来不及赶路", "en": "no time to travel between two orders"},
    "tasks_used": {"zh": "任务数已满", "en": "all tasks used"},
    "hours_used": {"zh": "服务时长已满", "en": "hours used up"},
    "not_available": {"zh": "该时段没空", "en": "not available then"},
    "too_far": {"zh": "距离太远", "en": "too far"},
    "forbidden": {"zh": "已婉拒或需回避", "en": "declined or barred"},
    "rated_out": {"zh": "该户曾给过差评（1-2 星）", "en": "rated 1-2 stars by this household before"},
    "other_team": {"zh": "包干给其他队伍", "en": "reserved for another team"},
    "not_insured": {"zh": "未投保", "en": "not insured"},
    "missing_skill": {"zh": "缺少所需技能", "en": "lacks the skills"},
}
"""Why a near volunteer was not on an order (:class:`matcher.Exclusion`)."""

WEEKDAYS: dict[Lang, list[str]] = {
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}

UI: dict[str, dict[Lang, str]] = {
    "title_run": {"zh": "志愿服务派单报告", "en": "Volunteer dispatch report"},
    "title_scenario": {"zh": "情景推演对比报告", "en": "Scenario comparison report"},
    "summary": {"zh": "概览", "en": "Summary"},
    "fill_rate": {"zh": "需求满足率", "en": "Fill rate"},
    "fill_rate_note": {"zh": "已派人次 / 需求人次", "en": "seats filled / seats ordered"},
    "seats": {"zh": "需求人次", "en": "seats ordered"},
    "filled": {"zh": "已派人次", "en": "seats filled"},
    "unmet": {"zh": "缺口人次", "en": "seats unmet"},
    "orders": {"zh": "订单", "en": "orders"},
    "volunteers_used": {"zh": "出勤志愿者", "en": "volunteers sent"},
    "status": {"zh": "求解状态", "en": "solver status"},
    "coverage": {"zh": "加权覆盖（上界）", "en": "weighted coverage (bound)"},
    "reason": {"zh": "缺口原因", "en": "why unmet"},
    "todo": {"zh": "建议处理", "en": "what to do"},
    "share": {"zh": "占比", "en": "share"},
    "by_priority": {"zh": "按优先级的满足率", "en": "Fill rate by priority"},
    "by_category": {"zh": "按服务类别的满足率", "en": "Fill rate by service category"},
    "priority": {"zh": "优先级", "en": "priority"},
    "priority_axis": {"zh": "优先级（5 = 最紧急）", "en": "priority (5 = most urgent)"},
    "category": {"zh": "服务类别", "en": "category"},
    "map": {"zh": "网格地图", "en": "Map of the grid areas"},
    "map_note": {"zh": "每个点是一个网格：颜色为满足率，大小为缺口人次；悬停查看缺口原因。",
                 "en": "Each dot is a grid area: colour is the fill rate, size the unmet seats; hover for the "
                       "reasons."},
    "area": {"zh": "网格", "en": "area"},
    "community": {"zh": "社区", "en": "community"},
    "street": {"zh": "街道", "en": "street"},
    "longitude": {"zh": "经度", "en": "longitude"},
    "latitude": {"zh": "纬度", "en": "latitude"},
    "heat": {"zh": "一周时段：缺口与可用志愿者", "en": "The week by hour: unmet seats and volunteers free"},
    "heat_note": {"zh": "左：该小时内进行中的订单的缺口人次；右：登记该小时有空的志愿者人数（按周几汇总）。",
                  "en": "Left: unmet seats of orders under way in the hour; right: volunteers whose registered "
                        "availability covers part of the hour (summed by weekday)."},
    "heat_unmet": {"zh": "缺口人次", "en": "unmet seats"},
    "heat_free": {"zh": "有空的志愿者", "en": "volunteers free"},
    "hour": {"zh": "时", "en": "hour"},
    "unmet_orders": {"zh": "缺口订单及原因", "en": "Unmet orders and why"},
    "unmet_note": {"zh": "点击一行查看原因：附近的志愿者各自因何未派。",
                   "en": "Click a row for the explanation: who was near and what kept each of them off."},
    "order": {"zh": "订单", "en": "order"},
    "time": {"zh": "时间", "en": "time"},
    "missing": {"zh": "缺口", "en": "unmet"},
    "headcount": {"zh": "需求", "en": "wanted"},
    "needs": {"zh": "所需技能", "en": "needs"},
    "near_counts": {"zh": "附近志愿者（两倍服务半径内）", "en": "Volunteers near (within twice their range)"},
    "closest": {"zh": "最接近能派的志愿者", "en": "Closest to being able to go"},
    "taken_by": {"zh": "被占用于", "en": "taken by"},
    "more_urgent": {"zh": "均更紧急", "en": "all more urgent"},
    "filled_by": {"zh": "已派", "en": "filled by"},
    "km": {"zh": "公里", "en": "km"},
    "roster": {"zh": "志愿者排班", "en": "Volunteer roster"},
    "roster_note": {"zh": "点击志愿者查看其一周任务。", "en": "Click a volunteer to see their week."},
    "volunteer": {"zh": "志愿者", "en": "volunteer"},
    "team": {"zh": "队伍", "en": "team"},
    "tasks": {"zh": "任务", "en": "tasks"},
    "hours": {"zh": "小时", "en": "hours"},
    "travel": {"zh": "路程（公里）", "en": "travel (km)"},
    "teams": {"zh": "队伍排班", "en": "Team roster"},
    "teams_note": {"zh": "点击队伍查看成员的任务。", "en": "Click a team to see its members' tasks."},
    "members": {"zh": "登记成员", "en": "members"},
    "members_sent": {"zh": "出勤成员", "en": "members sent"},
    "no_team": {"zh": "（无队伍）", "en": "(no team)"},
    "search": {"zh": "搜索编号、社区……", "en": "Search ids, communities…"},
    "all_reasons": {"zh": "全部原因", "en": "all reasons"},
    "prev": {"zh": "上一页", "en": "previous"},
    "next": {"zh": "下一页", "en": "next"},
    "page": {"zh": "第 {0} / {1} 页，共 {2} 条", "en": "page {0} of {1}, {2} rows"},
    "none": {"zh": "无", "en": "none"},
    "week_of": {"zh": "{0} 的一周", "en": "The week of {0}"},
    "caps": {"zh": "已用 {0}/{1} 个任务，{2}/{3} 小时", "en": "{0} of {1} tasks, {2} of {3} hours used"},
    "personal_left_out": {"zh": "个人信息（姓名、电话等）未写入本报告。",
                          "en": "Personal columns (names, phones) are left out of this report."},
    "personal_included": {"zh": "本报告含个人信息（姓名、电话等），请勿外传。",
                          "en": "This report holds personal columns (names, phones): do not pass it on."},
    "comparison": {"zh": "基准与各变体对比", "en": "Base and variants compared"},
    "metric": {"zh": "指标", "en": "metric"},
    "vs_base": {"zh": "与基准之差", "en": "vs base"},
    "case": {"zh": "情景", "en": "case"},
    "base": {"zh": "基准", "en": "base"},
    "change_map": {"zh": "缺口变化（变体减基准，红 = 更差）", "en": "Unmet change (variant minus base; red = worse)"},
    "scenario_scope": {"zh": "情景报告只含对比、地图和时段图；逐人排班与缺口说明见每晚派单报告。",
                       "en": "A scenario report holds the comparison, maps and the week by hour; rosters and "
                             "explanations are in the nightly run's report."},
    "legend_fill": {"zh": "满足率", "en": "fill rate"},
    "no_data": {"zh": "无数据", "en": "no data"},
}
"""Every other label of the page: key -> language -> text (``{0}`` etc. are filled in by the page)."""

CHART: dict[str, dict[Lang, str]] = {
    "category": {"zh": "服务类别", "en": "service category"},
    "priority": {"zh": "优先级（5 = 最紧急）", "en": "priority (5 = most urgent)"},
    "by_category": {"zh": "{0}：按服务类别的满足率", "en": "{0}: fill rate by service category"},
    "by_priority": {"zh": "{0}：按优先级的满足率", "en": "{0}: fill rate by priority"},
    "filled_pct": {"zh": "满足率（%）", "en": "seats filled, %"},
    "case": {"zh": "情景", "en": "case"},
    "unmet_map": {"zh": "{0}：各网格缺口人次", "en": "{0}: unmet seats by grid area"},
    "change_map": {"zh": "{0}：与基准相比的缺口变化", "en": "{0}: unmet seats against the base"},
    "panel": {"zh": "{0}：缺口 {1}", "en": "{0}: {1} unmet"},
    "bar_unmet": {"zh": "网格缺口人次", "en": "unmet seats in the area"},
    "bar_change": {"zh": "缺口人次，变体减基准", "en": "unmet seats, variant minus base"},
}
"""Labels of the PNG charts (``{0}``, ``{1}``: the scenario or case name, a number)."""

METRIC_NAMES: dict[str, str] = {
    "status": "求解状态", "coverage": "加权覆盖", "coverage_bound": "加权覆盖上界", "headcount": "需求人次",
    "filled": "已派人次", "fill_rate": "需求满足率", "unmet": "缺口人次", "travel_km": "总路程（公里）",
    "travel_km_mean": "每次派单路程（公里）", "volunteers_available": "有空的志愿者", "volunteers_used": "出勤志愿者",
    "tasks_mean": "每名出勤志愿者任务数", "tasks_std": "任务数标准差", "tasks_max": "单人最多任务数",
}
"""The scenario comparison's metrics in Chinese; priority fill rates and unmet reasons are named by pattern."""


def reason_text(code: str, lang: Lang) -> tuple[str, str]:
    """An unmet reason's name and what it asks the dispatcher to do (a reason without words here: its code)."""
    return REASONS[code][lang] if code in REASONS else (code, "")


def ui(key: str, lang: Lang) -> str:
    """A label of the page (``KeyError`` for an unknown key)."""
    return UI[key][lang]


def metric_name(key: str, english: str, lang: Lang) -> str:
    """A comparison metric's label: ``english`` (from the comparison table) or its Chinese name."""
    if lang == "en":
        return english.strip()
    if key.startswith("fill_rate_p"):
        return f"满足率（优先级 {key[-1]}）"
    if key.startswith("unmet_") and key[6:] in REASONS:
        return f"  缺口：{reason_text(key[6:], 'zh')[0]}"
    return METRIC_NAMES.get(key, english.strip())


NOT_COMPARABLE = "n/c (other priority weights)"
"""A difference not shown: the variant counts priority-weighted points with other weights than the base."""


def shown_value(x: Any, kind: str, diff: bool, lang: Lang = "en") -> str:
    """A comparison table's cell as text, for the printed table and the scenario report alike.

    ``kind`` is a metric's kind (``int``, ``pct``, ``num``, ``num2``, ``text``); ``diff`` marks a difference
    from the base (signed; percentages in points).
    """
    if x == NOT_COMPARABLE:
        return "不可比（优先级权重不同）" if lang == "zh" else NOT_COMPARABLE
    if x == "" or kind == "text":
        return str(x)
    sign = "+" if diff and float(x) > 0 else ""
    if kind == "int":
        return f"{sign}{round(float(x)):,}"
    if kind == "pct":
        return f"{sign}{100 * float(x):.1f}{(' 个百分点' if lang == 'zh' else ' pt') if diff else '%'}"
    return f"{sign}{float(x):,.{2 if kind == 'num2' else 1}f}"
