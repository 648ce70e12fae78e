# ruff: noqa: E501 (the texts are quoted verbatim, one a line)
"""Fees of real Taipei tariffs: texts copied from TCMSV_alldesc-2025-07-27.json, read by the
parser, priced by the engine, checked against fees worked out by hand (arithmetic in comments).

Days used: Thu 2026-11-26, Fri 11-27, Sat 11-28, Sun 11-29; Thu 12-24; holidays Fri 2026-12-25
(Constitution Day) and Mon 2026-09-28 (Confucius' Birthday). "u" is a billing unit.
"""

from __future__ import annotations

from functools import cache

import pytest

from platebind.plates import TariffClass
from platebind.tariffs.engine import compute_fee
from platebind.tariffs.errors import NoFare, TariffUnreadable
from platebind.tariffs.model import Tariff
from platebind.tariffs.payex import Status, read_payex
from tests.tariffs.helpers import CAR, HEAVY, MOTORCYCLE, at

TEXTS = {
    "TPE0001": "計時：100元/時，停車未滿1小時以1小時計算，逾1小時以上，未滿半小時以半小時計算。月租：全天10,000元/月，日間：9,000元/月(08-20)，夜間8,000元/月(20-08)。",
    "TPE0003": "小型車：計時 30元/時，全程以半小時計，全日雙月票11,520元。",
    "TPE0007": "計時:40元(08-22)、20元(22-08)，停放於充電格位之車輛，加收10元/時，依設備自動判斷未充電者再加收10元/時（未充電者合計加收20元/時），全程半小時計。月租：全日6,000元，夜間3,000元/月(22-08)。",
    "TPE0008": "小型車：計時 40元/時(09-21)，30元/時(21-09)，停車全程以半小時計，停放時間若跨越不同費率時段，則該跨越時段之費率以前一時段費率標準計算，其餘則依各時段費率標準計算；月租 夜間2,000元(週一至週五18-09，週六、日及政府行政機關放假之紀念日、民俗節日之全日)。",
    "TPE0010": "小型車(含大型重型機車)：計時 週一~週五20元/時(08時~22時)，10元/時(22時~08時)，週六、週日、行政機關放假之紀念日與民俗日20元/時(08時~10時)，30元/時(10時~22時)，10元/時(22時~08時)，停車全程以半小時計；月租 全日4,000元，日間2,400元(07時~20時)，夜間900元(20時~07時)。機車：20元/次，隔日另計；月租300元/月。",
    "TPE0017": "計時：平日40元/時、例假日60元/時，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。",
    "TPE0035": "計時：50元/時(06-24)，30元/時(24-06)。(停車未滿1小時者，以1小時計費，逾1小時以上者，未滿半小時以半小時計)。月租：全天6,500元/月，半天3,500元/月。",
    "TPE0046": "小型車：40元/時(08-21)，10元/時(21-08)，停車全程以半小時計，30分鐘內出場免費，繳費後15分鐘內離場緩衝時間。非駐站月票：4,000元，駐站月票：2,400元。",
    "TPE0050": "小型車：計時 40元/時(07-23)，20元/時(23-07)，停車未滿1小時以1小時計，逾1小時以上，未滿半小時以半小時計，大客車收費同小型車，進場未滿30分鐘離場不收費。",
    "TPE0051": "小型車、大型重型機車：計時40元/時(週一至週四)，50元/時(週五至週日、行政機關放假之紀念日與民俗日)，全程以半小時計；小型車全日4,800元/月，大型重機2,400元/月。機車10元/時，當日單次最高收費上限20元/次，隔日另計(以0時為基準)；月租300元/月。",
    "TPE0091": "小型車：計時 週一~週五30元/時(06時~24時)，10元/時(24時~06時)，週六、週日、行政機關放假之紀念日與民俗日10元/時(24時~06時)，30元/時(06時~11時)，40元/時(11時~22時)，週六、週日、行政機關放假之紀念日與民俗日30元/時(22時~24時)，停車全程以半小時計，入場前10分鐘免費。季租：全日10,500元。機車：20元/次，隔日另計，以2時為基準，季租：全日900元。",
    "TPE0096": "小型車：計時 30元/時(09-18)，10元/時(18-09)，全程以半小時計；月租 全日4,200元，夜間1,000元(週一至週五19-08，週六、日及政府行政機關放假之紀念日、民俗節日之全日)。機車：計時 10元/時，當日單次停車最高收費上限20元(隔日另計)，全程以半小時計；月租300元。",
    "TPE0125": "計時：小型車30元/時，全程以半小時計費。月租：小型車4,500元/月。機車免費。",
    "TPE0127": "計時：30元/時(07:00-21:30)、10元/時(21:30-07:00)，全程以半小時計費。月租：全日4,000元/月。",
    "TPE0131": "計時：小型車20元/時，當日最高150元(隔日另計)；大型車40元/時，當日最高300元(隔日另計)。進場未逾15分鐘免費，全程以半小時計費。月租：里民1,800元，市區公車3,431元，大客、貨車4,800元，市場承銷業者自用車及小型採購車1,500元，理貨分包採購車3,500元。",
    "139": "小型車全日月租：4,000元/月，機車計次20元/次(隔日另計，以凌晨2時為基準)，全日月租：300元/月",
    "TPE0149": "計次：小型車100元/次、機車25元/次。月租：小型車4,000元/月。違規拖吊保管費每半日計費1次，逾1小時以上未滿12小時者，以半日計費，未滿1小時免收保管費，小型車半日100元/次，機車半日25元/次。",
    "TPE0151": "計時:汽車40元/時(08-20)，30元/時(20-08)，當日最高上限230元，全程以半小時計費，大型重機計時比照汽車。月租:汽車全日4,500元/月，日間3,500元/月(07-19)，夜間3,000元/月(18-08)，大型重機全日2,000元/月。",
    "TPE0263": "計時：小型車平日100元/時，假日(依人事行政局公告行事曆為準)120元/時，機車20元/時，停車未滿1小時以1小時計算，逾1小時以上，未滿半小時以半小時計算。",
    "TPE0407": "小型車：計時 20元/時(09時~17時)，全程以半小時計，其餘時段不收費；月租 日間4,000元(09時~17時)。機車：20元/次，星期六及星期日09時至17時(當日當次，其餘時段不收費)。",
    "TPE0490": "小型車：計時 週一~週五20元/時，最高上限100元/日，隔日另計，週六、週日20元/時，停車全程以半小時計。機車：免費停車。",
    "TPE0512": "機車：10元/時，當日當次停車最高收費上限30元/次，隔日另計，以3時為基準，全程以半小時計。",
    "TPE0535": "小型車：計時 (08時~18時)20元/時，(18時~08時)10元/時，最高上限30元/日，隔日另計，全程以半小時計;月租 全日2,500元，日間1,500元(07時~20時)，夜間500元(18時~08時)。機車：機車收費10元/時，隔日另計，以24時為基準;機車月租300元/月",
    "TPE0791": "計次：平日20元/次，假日30元/次，隔日另計(以凌晨2時為基準)。季租：全日1,200元/季。",
    "TPE0867": "計時：40元/時(週一至四)，60元/時(週五至日)，停車未滿1小時以1小時計算，逾1小時以上，未滿半小時以半小時計算。月租：：全天6,000元/月，日間：4,000元/月(09-18)，夜間2,000元/月(18-09)。",
    "TPE1165": "40元/時，未滿1小時以1小時計算收費，停車逾1小時以上，未滿半小時以半小時計算收費。每日最高120元。",
    "TPE1354": "計時:100元/時，停車時數未滿30分鐘內免費，停車未滿1小時以1小時計，逾1小時以上者，未滿半小時以半小時計。",
    "TPE1557": "計時：星期一至五20元/時(當日當次最高上限100元，隔日另計)，星期六日20元/時，全程半小時計費。本場未出售月票。",
    "TPE1674": "小型車：計時 (07時~22時)30元/時，(22時~07時)15元/時，全程以半小時計;月租 全日5,700元",
}  # fmt: skip

# Lots with only motorcycle spaces: a text that names no class prices motorcycles there.
MOTORCYCLE_LOTS = {"TPE0791"}

STAYS: list[tuple[str, TariffClass, str, str, int]] = [
    # TPE0001: 100/h; first hour whole (100), then 50 per started half hour.
    ("TPE0001", CAR, "2026-11-27 10:00", "2026-11-27 10:20", 100),  # first hour
    ("TPE0001", CAR, "2026-11-27 10:00", "2026-11-27 11:10", 150),  # 100 + 1u×50
    ("TPE0001", CAR, "2026-11-27 10:00", "2026-11-27 15:00", 500),  # 100 + 8u×50
    ("TPE0001", CAR, "2026-11-27 22:00", "2026-11-28 07:00", 900),  # 100 + 16u×50 overnight
    ("TPE0001", CAR, "2026-12-25 09:00", "2026-12-25 10:00", 100),  # holiday, exactly 1 h
    # TPE0003: 30/h per started half hour: 15 a unit.
    ("TPE0003", CAR, "2026-11-28 10:00", "2026-11-28 10:01", 15),  # Saturday, 1u
    ("TPE0003", CAR, "2026-11-28 10:00", "2026-11-28 12:30", 75),  # 5u×15
    ("TPE0003", CAR, "2026-11-27 20:00", "2026-11-28 08:00", 360),  # 24u×15
    ("TPE0003", CAR, "2026-12-25 10:00", "2026-12-25 10:30", 15),  # holiday, exactly 1u
    # TPE0007: 08–22 40/h (20 a unit), 22–08 20/h (10 a unit); each band rounded on its own.
    ("TPE0007", CAR, "2026-11-27 21:45", "2026-11-27 22:15", 30),  # day 1u 20 + night 1u 10
    ("TPE0007", CAR, "2026-11-27 09:00", "2026-11-27 11:00", 80),  # 4u×20
    ("TPE0007", CAR, "2026-11-27 20:00", "2026-11-28 09:00", 320),  # 4u×20 + 20u×10 + 2u×20
    ("TPE0007", CAR, "2026-11-28 12:00", "2026-11-28 12:40", 40),  # Saturday 2u×20
    # TPE0008: 09–21 40/h (20), 21–09 30/h (15); a unit is priced where it starts.
    ("TPE0008", CAR, "2026-11-27 20:45", "2026-11-27 21:15", 20),  # one unit from 20:45: 20
    ("TPE0008", CAR, "2026-11-27 20:50", "2026-11-27 21:30", 35),  # 20:50 day 20 + 21:20 night 15
    ("TPE0008", CAR, "2026-11-27 08:40", "2026-11-27 10:00", 55),  # 08:40 15 + 09:10 20 + 09:40 20
    ("TPE0008", CAR, "2026-11-28 10:00", "2026-11-28 13:00", 120),  # Saturday 6u×20
    # TPE0010: Mon–Fri 08–22 20/h, 22–08 10/h; Sat, Sun, holidays 08–10 20/h, 10–22 30/h,
    # 22–08 10/h; per half hour. Heavy motorcycles alike; motorcycles 20 a day from 00:00.
    ("TPE0010", CAR, "2026-11-27 09:00", "2026-11-27 10:00", 20),  # 2u×10
    ("TPE0010", CAR, "2026-11-28 09:00", "2026-11-28 11:00", 50),  # Sat 2u×10 + 2u×15
    ("TPE0010", CAR, "2026-12-25 09:00", "2026-12-25 11:00", 50),  # holiday: as Saturday
    ("TPE0010", CAR, "2026-11-27 21:00", "2026-11-28 09:00", 140),  # 2u×10 + 20u×5 + 2u×10
    ("TPE0010", HEAVY, "2026-11-28 09:00", "2026-11-28 11:00", 50),  # as the car
    ("TPE0010", MOTORCYCLE, "2026-11-27 10:00", "2026-11-27 12:00", 20),  # one day
    ("TPE0010", MOTORCYCLE, "2026-11-27 23:00", "2026-11-28 01:00", 40),  # two days
    # TPE0017: weekdays 40/h, Sat, Sun, holidays 60/h; first hour whole, then half hours.
    ("TPE0017", CAR, "2026-11-27 10:00", "2026-11-27 10:30", 40),  # first hour
    ("TPE0017", CAR, "2026-11-28 10:00", "2026-11-28 12:00", 120),  # Sat 60 + 2u×30
    ("TPE0017", CAR, "2026-12-25 10:00", "2026-12-25 11:31", 120),  # holiday 60 + 2u×30
    ("TPE0017", CAR, "2026-11-27 23:00", "2026-11-28 01:00", 100),  # Fri 40 + Sat 2u×30
    # Thu 23:30 first hour at 40, cut at midnight (the price changes); holiday 1u×30.
    ("TPE0017", CAR, "2026-12-24 23:30", "2026-12-25 00:30", 70),
    # TPE0035: 06–24 50/h, 24–06 30/h; first hour whole, then half hours (25 / 15).
    ("TPE0035", CAR, "2026-11-27 10:00", "2026-11-27 10:45", 50),  # first hour
    ("TPE0035", CAR, "2026-11-27 23:00", "2026-11-28 02:00", 110),  # 50 + 4u×15
    (
        "TPE0035",
        CAR,
        "2026-11-28 05:30",
        "2026-11-28 07:00",
        80,
    ),  # first hour 30 cut at 06:00 + 2u×25
    # TPE0046: 08–21 40/h (20), 21–08 10/h (5); a stay of at most 30 min is free.
    ("TPE0046", CAR, "2026-11-27 10:00", "2026-11-27 10:30", 0),  # exactly 30 min: free
    ("TPE0046", CAR, "2026-11-27 10:00", "2026-11-27 10:31", 40),  # 2u×20
    ("TPE0046", CAR, "2026-11-27 20:00", "2026-11-27 22:00", 50),  # 2u×20 + 2u×5
    # TPE0050: 07–23 40/h, 23–07 20/h; first hour whole; under 30 min free.
    ("TPE0050", CAR, "2026-11-27 10:00", "2026-11-27 10:29", 0),  # under 30 min
    ("TPE0050", CAR, "2026-11-27 10:00", "2026-11-27 10:30", 40),  # 30 min is not under 30
    ("TPE0050", CAR, "2026-11-28 22:00", "2026-11-29 01:00", 80),  # Sat 40 + night 4u×10
    # TPE0051: cars and heavy motorcycles Mon–Thu 40/h (20), Fri–Sun and holidays 50/h (25).
    ("TPE0051", CAR, "2026-11-26 10:00", "2026-11-26 11:00", 40),  # Thu 2u×20
    ("TPE0051", CAR, "2026-11-27 10:00", "2026-11-27 11:00", 50),  # Fri 2u×25
    ("TPE0051", CAR, "2026-09-28 10:00", "2026-09-28 11:00", 50),  # holiday Monday 2u×25
    ("TPE0051", HEAVY, "2026-11-26 23:00", "2026-11-27 01:00", 90),  # Thu 2u×20 + Fri 2u×25
    # TPE0091: weekdays 06–24 30/h, 24–06 10/h; weekend and holidays 24–06 10, 06–11 30,
    # 11–22 40, 22–24 30; half hours; first 10 min free. Motorcycles 20 a day from 02:00.
    ("TPE0091", CAR, "2026-11-27 10:00", "2026-11-27 10:10", 0),  # within 10 min
    ("TPE0091", CAR, "2026-11-28 10:00", "2026-11-28 12:00", 70),  # Sat 2u×15 + 2u×20
    ("TPE0091", CAR, "2026-11-27 23:00", "2026-11-28 07:00", 120),  # 2u×15 + 12u×5 + 2u×15
    ("TPE0091", MOTORCYCLE, "2026-11-27 01:00", "2026-11-27 03:00", 40),  # crosses 02:00
    ("TPE0091", MOTORCYCLE, "2026-11-27 02:00", "2026-11-28 01:59", 20),  # one period
    # TPE0096: motorcycles 10/h per half hour (5), at most 20 a day.
    ("TPE0096", MOTORCYCLE, "2026-11-27 10:00", "2026-11-27 11:00", 10),  # 2u×5
    ("TPE0096", MOTORCYCLE, "2026-11-27 10:00", "2026-11-27 18:00", 20),  # 16u×5 = 80, cap 20
    ("TPE0096", MOTORCYCLE, "2026-11-27 20:00", "2026-11-28 10:00", 40),  # 40→20 + 100→20
    ("TPE0096", CAR, "2026-11-28 17:00", "2026-11-28 19:00", 40),  # 2u×15 + 2u×5
    # TPE0125: cars 30/h per half hour; motorcycles free.
    ("TPE0125", CAR, "2026-11-28 10:00", "2026-11-28 11:00", 30),  # 2u×15
    ("TPE0125", MOTORCYCLE, "2026-11-27 10:00", "2026-11-28 10:00", 0),  # free
    # TPE0127: 07:00–21:30 30/h (15), 21:30–07:00 10/h (5).
    ("TPE0127", CAR, "2026-11-27 21:00", "2026-11-27 22:00", 20),  # 1u×15 + 1u×5
    ("TPE0127", CAR, "2026-11-27 21:20", "2026-11-27 21:40", 20),  # 10 min day 15 + night 5
    ("TPE0127", CAR, "2026-11-28 06:00", "2026-11-28 08:00", 40),  # 2u×5 + 2u×15
    # TPE0131: cars 20/h per half hour (10), at most 150 a day, 15 min free.
    ("TPE0131", CAR, "2026-11-27 10:00", "2026-11-27 10:15", 0),  # not over 15 min
    ("TPE0131", CAR, "2026-11-27 10:00", "2026-11-27 10:16", 10),  # 1u
    ("TPE0131", CAR, "2026-11-27 08:00", "2026-11-27 20:00", 150),  # 24u = 240, cap 150
    ("TPE0131", CAR, "2026-11-27 20:00", "2026-11-28 20:00", 230),  # Fri 8u 80 + Sat 400→150
    ("TPE0131", CAR, "2026-12-25 08:00", "2026-12-25 18:00", 150),  # holiday 200→150
    # 139: motorcycles 20 per entry, again from 02:00 each day; no car fare.
    ("139", MOTORCYCLE, "2026-11-27 01:30", "2026-11-27 02:30", 40),  # periods Thu, Fri
    ("139", MOTORCYCLE, "2026-11-27 02:00", "2026-11-28 02:00", 20),  # exit at 02:00: one
    ("139", MOTORCYCLE, "2026-11-27 10:00", "2026-11-29 10:00", 60),  # Fri, Sat, Sun
    # TPE0149: per entry, once per stay: cars 100, motorcycles 25.
    ("TPE0149", CAR, "2026-11-27 10:00", "2026-11-29 10:00", 100),
    ("TPE0149", MOTORCYCLE, "2026-11-27 10:00", "2026-11-27 10:05", 25),
    # TPE0151: 08–20 40/h (20), 20–08 30/h (15); at most 230 a day; heavy alike.
    ("TPE0151", CAR, "2026-11-27 10:00", "2026-11-27 12:00", 80),  # 4u×20
    ("TPE0151", CAR, "2026-11-27 08:00", "2026-11-28 08:00", 460),  # Fri 600→230, Sat 240→230
    ("TPE0151", HEAVY, "2026-11-28 19:00", "2026-11-28 21:00", 70),  # 2u×20 + 2u×15
    # TPE0263: cars weekdays 100/h, days off 120/h; motorcycles 20/h; first hour whole.
    ("TPE0263", CAR, "2026-11-27 10:00", "2026-11-27 11:30", 150),  # 100 + 1u×50
    ("TPE0263", CAR, "2026-11-28 10:00", "2026-11-28 11:30", 180),  # 120 + 1u×60
    ("TPE0263", CAR, "2026-12-25 10:00", "2026-12-25 10:10", 120),  # holiday first hour
    ("TPE0263", MOTORCYCLE, "2026-11-28 10:00", "2026-11-28 13:00", 60),  # 20 + 4u×10
    # TPE0407: cars 09–17 20/h (10), free at other times.
    ("TPE0407", CAR, "2026-11-27 08:00", "2026-11-27 10:00", 20),  # 2u×0 + 2u×10
    ("TPE0407", CAR, "2026-11-27 16:50", "2026-11-27 17:10", 10),  # 1u×10 + 1u×0
    ("TPE0407", CAR, "2026-11-27 18:00", "2026-11-28 08:00", 0),  # all free time
    ("TPE0407", CAR, "2026-11-28 09:00", "2026-11-28 17:00", 160),  # 16u×10
    # TPE0490: cars 20/h (10) every day, at most 100 a day Mon–Fri; motorcycles free.
    ("TPE0490", CAR, "2026-11-27 08:00", "2026-11-27 20:00", 100),  # 240 → 100
    ("TPE0490", CAR, "2026-11-28 08:00", "2026-11-28 20:00", 240),  # no cap on Saturday
    ("TPE0490", CAR, "2026-12-25 08:00", "2026-12-25 20:00", 100),  # holiday as a Friday
    ("TPE0490", CAR, "2026-11-27 20:00", "2026-11-28 04:00", 160),  # Fri 80 + Sat 80
    ("TPE0490", MOTORCYCLE, "2026-11-27 08:00", "2026-11-27 20:00", 0),
    # TPE0512: motorcycles 10/h (5), at most 30 a day, days from 03:00.
    ("TPE0512", MOTORCYCLE, "2026-11-27 10:00", "2026-11-27 13:00", 30),  # 6u×5 = cap
    ("TPE0512", MOTORCYCLE, "2026-11-27 10:00", "2026-11-28 10:00", 60),  # 170→30 + 70→30
    ("TPE0512", MOTORCYCLE, "2026-11-27 02:00", "2026-11-27 04:00", 20),  # 2u (Thu) + 2u (Fri)
    # TPE0535: cars 08–18 20/h (10), 18–08 10/h (5), at most 30 a day.
    ("TPE0535", CAR, "2026-11-27 10:00", "2026-11-27 11:00", 20),  # 2u×10
    ("TPE0535", CAR, "2026-11-27 10:00", "2026-11-27 14:00", 30),  # 8u×10 = 80 → 30
    ("TPE0535", CAR, "2026-11-27 17:00", "2026-11-28 09:00", 60),  # Fri 80→30 + Sat 100→30
    # TPE0791 (motorcycle lot): per entry 20 on weekdays, 30 on days off, from 02:00.
    ("TPE0791", MOTORCYCLE, "2026-11-27 10:00", "2026-11-27 12:00", 20),
    ("TPE0791", MOTORCYCLE, "2026-11-27 23:00", "2026-11-28 03:00", 50),  # Fri 20 + Sat 30
    ("TPE0791", MOTORCYCLE, "2026-12-25 10:00", "2026-12-25 11:00", 30),  # holiday
    ("TPE0791", MOTORCYCLE, "2026-11-28 01:00", "2026-11-28 01:30", 20),  # Fri's period
    # TPE0867: Mon–Thu 40/h, Fri–Sun 60/h (holidays as their weekday); first hour whole.
    ("TPE0867", CAR, "2026-11-26 10:00", "2026-11-26 11:00", 40),  # Thu first hour
    ("TPE0867", CAR, "2026-11-27 10:00", "2026-11-27 11:01", 90),  # Fri 60 + 1u×30
    ("TPE0867", CAR, "2026-09-28 10:00", "2026-09-28 11:00", 40),  # holiday Monday
    ("TPE0867", CAR, "2026-11-26 23:00", "2026-11-27 00:30", 70),  # Thu 40 + Fri 1u×30
    # TPE1165: 40/h, first hour whole then 20 a half hour, at most 120 a day.
    ("TPE1165", CAR, "2026-11-27 10:00", "2026-11-27 10:59", 40),
    ("TPE1165", CAR, "2026-11-27 10:00", "2026-11-27 13:00", 120),  # 40 + 4u×20 = the cap
    ("TPE1165", CAR, "2026-11-27 10:00", "2026-11-27 14:00", 120),  # 40 + 6u×20 = 160 → 120
    ("TPE1165", CAR, "2026-11-27 22:00", "2026-11-28 02:00", 160),  # Fri 40+2u×20, Sat 4u×20
    # TPE1354: 100/h, first hour whole; a stay under 30 min is free.
    ("TPE1354", CAR, "2026-11-27 10:00", "2026-11-27 10:29", 0),
    ("TPE1354", CAR, "2026-11-27 10:00", "2026-11-27 10:30", 100),
    ("TPE1354", CAR, "2026-11-27 10:00", "2026-11-27 11:01", 150),  # 100 + 1u×50
    # TPE1557: 20/h (10) every day, at most 100 a day Monday to Friday.
    ("TPE1557", CAR, "2026-11-27 08:00", "2026-11-27 18:00", 100),  # 20u = 200 → 100
    ("TPE1557", CAR, "2026-11-29 08:00", "2026-11-29 18:00", 200),  # Sunday: no cap
    # TPE1674: 07–22 30/h (15), 22–07 15/h (7.5 a unit); the total is rounded once, half up.
    ("TPE1674", CAR, "2026-11-27 22:00", "2026-11-27 22:30", 8),  # 7.5 → 8
    ("TPE1674", CAR, "2026-11-27 22:00", "2026-11-27 23:30", 23),  # 3u×7.5 = 22.5 → 23
    ("TPE1674", CAR, "2026-11-27 21:00", "2026-11-27 23:00", 45),  # 2u×15 + 2u×7.5
    ("TPE1674", CAR, "2026-11-27 22:00", "2026-11-28 07:30", 150),  # 18u×7.5 + 1u×15
]


@cache
def tariff_of(lot: str, tariff_class: TariffClass) -> Tariff:
    unlabeled = (MOTORCYCLE,) if lot in MOTORCYCLE_LOTS else (CAR,)
    return read_payex(TEXTS[lot], unlabeled=unlabeled).tariff_for(tariff_class)


@pytest.mark.parametrize(("lot", "tariff_class", "entered", "exited", "fee"), STAYS)
def test_fee_of_a_real_tariff(
    lot: str, tariff_class: TariffClass, entered: str, exited: str, fee: int
) -> None:
    result = compute_fee(tariff_of(lot, tariff_class), tariff_class, at(entered), at(exited))
    assert result.amount == fee, [line.description for line in result.lines]


def test_every_text_is_priced_by_several_stays() -> None:
    stays_per_text: dict[str, int] = {}
    for lot, *_ in STAYS:
        stays_per_text[lot] = stays_per_text.get(lot, 0) + 1
    assert set(stays_per_text) == set(TEXTS)
    assert len(TEXTS) >= 25
    assert min(stays_per_text.values()) >= 2


@pytest.mark.parametrize(
    ("lot", "tariff_class", "refusal", "phrase"),
    [
        ("139", CAR, NoFare, None),  # monthly passes only
        ("TPE0051", MOTORCYCLE, TariffUnreadable, "no billing unit"),
        ("TPE0407", MOTORCYCLE, TariffUnreadable, "09時至17時"),
        ("TPE0535", MOTORCYCLE, TariffUnreadable, "隔日另計"),
    ],
)
def test_classes_a_text_does_not_price_in_full_are_refused(
    lot: str, tariff_class: TariffClass, refusal: type[Exception], phrase: str | None
) -> None:
    with pytest.raises(refusal) as raised:
        tariff_of(lot, tariff_class)
    if phrase is not None:
        assert phrase in str(raised.value)


def test_the_texts_of_this_table_read_in_full_for_the_classes_they_price() -> None:
    for lot, tariff_class, *_ in STAYS:
        unlabeled = (MOTORCYCLE,) if lot in MOTORCYCLE_LOTS else (CAR,)
        reading = read_payex(TEXTS[lot], unlabeled=unlabeled)[tariff_class]
        assert reading.status is Status.FULL, (lot, reading)
