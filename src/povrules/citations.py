"""Checking that every quoted clause stands at its cited lines of its source.

The sources are web text: some carry parenthesised pinyin after characters
(``監(jiān)測(cè)``) and runs of mojibake. A quote is compared with the cited lines
after removing that pinyin and all white space; a quote may join
non-adjacent fragments with ``……``, which must appear in that order.

When a quote is not at its lines, :func:`quote_problem` says why as far as it can
tell: the quote stands at another line of the file (named), or it stands there
written in the other script (Traditional against Simplified characters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import attrs

from povrules.errors import Location
from povrules.reading import MAX_SOURCE, read_bounded
from povrules.ruleset.model import Citation, Ruleset

_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]+\)")
_SPACE = re.compile(r"\s+")
ELLIPSIS = "……"

# Traditional characters and their Simplified forms, for the words of policy texts: enough to tell
# that a quote and its source differ only in script, not a converter. Each pair is Traditional then
# Simplified; a character missing here only costs that hint, never a wrong match.
_SCRIPT_PAIRS = """
監监 測测 貧贫 農农 戶户 幫帮 鄉乡 縣县 區区 國国 務务 員员 發发 實实 現现 對对 動动 態态 脫脱 標标
準准 鞏巩 擴扩 張张 範范 圍围 蓋盖 醫医 療疗 險险 養养 學学 義义 經经 濟济 產产 業业 轉转 勞劳 確确
認认 時时 間间 內内 還还 應应 當当 於于 與与 為为 從从 個个 們们 這这 進进 開开 關关 係系 統统 計计
數数 據据 證证 書书 記记 錄录 檔档 調调 審审 報报 請请 選选 擇择 難难 題题 條条 規规 辦办 機机 構构
組组 織织 負负 責责 導导 領领 處处 財财 資资 項项 補补 貼贴 費费 購购 買买 賣卖 車车 輛辆 種种 類类
屬属 設设 備备 樂乐 無无 殘残 歲岁 齡龄 兒儿 嬰婴 婦妇 親亲 價价 錢钱 銀银 貸贷 額额 億亿 萬万 兩两
單单 雙双 幾几 級级 層层 體体 裡里 後后 麼么 會会 議议 論论 說说 説说 話话 語语 讀读 寫写 聽听 見见
覺觉 視视 觀观 點点 熱热 電电 氣气 鐵铁 鋼钢 礦矿 術术 藝艺 歷历 曆历 陽阳 陰阴 隊队 際际 陸陆 齊齐
嚴严 傳传 優优 僅仅 儲储 償偿 創创 劃划 勵励 勢势 協协 參参 雜杂 衛卫 災灾 溫温 減减 滿满 漁渔 獎奖
獨独 環环 盡尽 禮礼 穩稳 窮穷 籌筹 糧粮 緊紧 純纯 線线 練练 續续 維维 綜综 網网 總总 績绩 罰罚 職职
臨临 舊旧 艱艰 藥药 製制 複复 訂订 訓训 許许 訪访 診诊 詢询 該该 誤误 護护 讓让 豐丰 貨货 質质 贈赠
較较 輔辅 輕轻 過过 運运 遞递 遠远 適适 遷迁 鄰邻 鎮镇 長长 門门 閉闭 問问 閱阅 隨随 離离 預预 頭头
顧顾 飲饮 飯饭 館馆 驗验 黨党 違违 損损 壞坏 幣币 廠厂 廣广 廢废 徵征 擔担 擁拥 斷断 暫暂 極极 樣样
權权 歸归 況况 營营 爭争 獲获 畢毕 異异 稱称 競竞 節节 簡简 紀纪 約约 細细 終终 結结 給给 絕绝 綠绿
編编 聯联 興兴 舉举 莊庄 號号 裝装 訊讯 託托 訴诉 詳详 誠诚 講讲 識识 變变 貢贡 貴贵 貿贸 賠赔 賦赋
賬账 賴赖 趕赶 跡迹 踐践 軍军 載载 輸输 辭辞 邊边 郵邮 釋释 錯错 陳陈 階阶 隱隐 靜静 頒颁 頻频 顯显
風风 餘余 驅驱 騰腾 齒齿 龍龙 雲云 頁页 順顺 飛飞 魚鱼 鹽盐 麥麦 黃黄 衝冲 觸触 諮咨 謝谢 譯译 園园
圖图 團团 壓压 壽寿 夠够 奪夺 奮奋 婁娄 屆届 帶带 廳厅 彙汇 徑径 徹彻 懲惩 撫抚 擬拟 攜携 敗败 敘叙
斂敛 暢畅 東东 樓楼 橋桥 檢检 歡欢 殯殡 毀毁 滅灭 瀕濒 燈灯 猶犹 畝亩 疇畴 癥症 盜盗 碩硕 禍祸 積积
稅税 穀谷 筆笔 築筑 糾纠 紡纺 縮缩 繳缴 罷罢 聞闻 聲声 膚肤 艦舰 薦荐 虛虚 衆众 眾众 覈核 誌志 譽誉
貞贞 貫贯 販贩 貪贪 賓宾 賞赏 贊赞 贏赢 趨趋 軟软 迴回 週周 遺遗 鄭郑 釐厘 針针 鏈链 鎖锁 閒闲 陣阵
隻只 雖虽 雞鸡 韓韩 響响 頓顿 頸颈 颱台 飽饱 駕驾 騎骑 髮发 鬥斗 鬧闹 則则 評评 冊册 將将 專专 島岛
帳帐 庫库 彌弥 復复 愛爱 慣惯 憑凭 戲戏 掃扫 揮挥 搶抢 攝摄 決决 淨净 漢汉 爲为 狀状 畫画 碼码 礎础
紅红 紙纸 絲丝 緒绪 締缔 繼继 肅肃 脅胁 腳脚 臺台 華华 蔣蒋 討讨 詞词 試试 詩诗 談谈 諾诺 謂谓 貝贝
趙赵 軌轨 輪轮 連连 遊游 達达 靈灵 須须 傷伤 僱雇 儀仪 兇凶 劉刘 勝胜 卻却 厲厉 啓启 啟启 喪丧 嚮向
圓圆 墊垫 壇坛 奬奖 娛娱 孫孙 寧宁 寶宝 尋寻 屍尸 岡冈 嶺岭 彎弯 恆恒 惡恶 懇恳 擊击 擾扰 擺摆 斃毙
棄弃 棟栋 楊杨 榮荣 樹树 橫横 歐欧 殼壳 沒没 漲涨 潛潜 濃浓 灑洒 煙烟 燒烧 爺爷 牆墙 犧牺 獄狱 瑪玛
癒愈 盧卢 礙碍 祿禄 窯窑 籃篮 簽签 縱纵 繩绳 羅罗 脈脉 腸肠 膠胶 蘭兰 虧亏 蠶蚕 誇夸 謀谋 貓猫 賜赐
賢贤 踴踊 躍跃 輩辈 轄辖 辯辩 遲迟 醜丑 鄧邓 銷销 鋪铺 錦锦 鍛锻 鐘钟 閃闪 闊阔 陝陕 隸隶 頂顶 頃顷
頌颂 頗颇 願愿 飢饥 餓饿 駐驻 鬆松 魯鲁 鳥鸟 鳴鸣 麵面 齋斋 裏里 戀恋 獻献 産产 衞卫 註注 綫线 傢家
夥伙
"""
_SIMPLE_OF = {pair[0]: pair[1] for pair in _SCRIPT_PAIRS.split()}
_TO_SIMPLIFIED = str.maketrans(_SIMPLE_OF)
TRADITIONAL = frozenset(_SIMPLE_OF)
NEARBY = 20  # lines either side of a citation within which a quote found elsewhere is "nearby"


def simplified(text: str) -> str:
    """``text`` with the Traditional characters of the table above written in their Simplified form."""
    return text.translate(_TO_SIMPLIFIED)


def strip_pinyin(text: str) -> str:
    """Text without its parenthesised pinyin annotations (``監(jiān)測`` → ``監測``)."""
    return _PINYIN.sub("", text)


def normalise(text: str) -> str:
    """Text as quotes are compared: pinyin annotations and white space removed."""
    return _SPACE.sub("", strip_pinyin(text))


@attrs.frozen
class CitationProblem:
    """A citation whose quote or lines do not check: where it is cited, the citation, and why."""

    where: str
    citation: Citation
    message: str

    def __str__(self) -> str:
        at = f"{self.citation.location}: cite of " if self.citation.location else ""
        return f"{at}{self.where}: {self.citation}: {self.message}"


def quote_found(quote: str, text: str) -> bool:
    """Whether every fragment of ``quote`` appears in ``text``, in order."""
    position = 0
    haystack = normalise(text)
    for fragment in quote.split(ELLIPSIS):
        needle = normalise(fragment)
        if not needle:
            continue
        found = haystack.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def _span_text(lines: Sequence[str], first: int, last: int) -> str:
    return "\n".join(lines[first - 1 : last])


def _nearest_span(quote: str, lines: Sequence[str], citation: Citation, script: bool) -> tuple[int, int] | None:
    """The lines (first, last) nearest the cited ones at which ``quote`` stands, or None.

    Spans as long as the cited one are tried first, then one and two lines longer (a quote
    that runs over a line break). With ``script``, both sides are compared in Simplified script.
    """
    wanted = simplified(quote) if script else quote
    length = citation.end_line - citation.line + 1
    for extra in range(3):
        size = length + extra
        starts = sorted(range(1, len(lines) - size + 2), key=lambda start: (abs(start - citation.line), start))
        for start in starts:
            text = _span_text(lines, start, start + size - 1)
            if quote_found(wanted, simplified(text) if script else text):
                return start, start + size - 1
    return None


def _lines_text(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _script_note(quote: str, source: str) -> str:
    """How the scripts of a quote and of its source text differ, naming the characters written differently."""
    plain = simplified(quote)
    in_quote = "".join(sorted({c for c in quote if c in TRADITIONAL}))[:6]
    in_source = "".join(sorted({c for c in source if c in TRADITIONAL and simplified(c) in plain and c not in quote}))[
        :6
    ]
    if in_quote and not in_source:
        return f"the quote writes {in_quote} in Traditional characters where the source has Simplified ones"
    if in_source and not in_quote:
        return f"the source writes {in_source} in Traditional characters where the quote has Simplified ones"
    return f"the quote and the source differ in script (Traditional {in_quote} in the quote, {in_source} in the source)"


def quote_problem(citation: Citation, lines: Sequence[str]) -> str | None:
    """Why ``citation``'s quote is not at its lines of a source whose text is ``lines``; None when it is.

    Says where the quote does stand, when it does: at another line (the nearest one, said to be
    nearby within :data:`NEARBY` lines), or at the cited or another line once Traditional
    characters are read as Simplified (the quote and the source differ in script).
    """
    if citation.end_line > len(lines):
        return f"the source has only {len(lines)} lines"
    cited = _span_text(lines, citation.line, citation.end_line)
    if quote_found(citation.quote, cited):
        return None
    message = f"quote not found at the cited lines: 「{citation.quote}」"
    span = _nearest_span(citation.quote, lines, citation, script=False)
    script = span is None
    if script:
        span = _nearest_span(citation.quote, lines, citation, script=True)
    if span is None:
        return message
    first, last = span
    found = _span_text(lines, first, last)
    if (first, last) == (citation.line, citation.end_line):
        return f"{message}; {_script_note(citation.quote, found)}: quote the source as it is written"
    distance = abs(first - citation.line)
    if distance == 0:
        where = f"it runs on over {_lines_text(first, last)}: cite them all"
    else:
        side = "below" if first > citation.line else "above"
        near = "nearby, " if distance <= NEARBY else ""
        where = f"it stands at {_lines_text(first, last)} ({near}{distance} {side} the cited {_lines_text(citation.line, citation.end_line)})"
    if script:
        where += f", and there {_script_note(citation.quote, found)}"
    return f"{message}; {where}"


def source_path(sources: Path, file: str) -> Path | None:
    """Where a cited ``file`` is inside the folder ``sources``, or None if it would lie outside it.

    A citation names a file relative to the sources folder; an absolute path, a ``..`` step or a
    symbolic link that leads out of the folder names no source, so nothing outside is ever read.
    """
    root = sources.resolve()
    if Path(file).is_absolute() or ".." in Path(file).parts:
        return None
    path = (root / file).resolve()
    return path if path.is_relative_to(root) else None


def check_citations(ruleset: Ruleset, sources: Path) -> list[CitationProblem]:
    """Every citation of a ruleset (rules, requirements of derived figures, parameter values) checked against the files in ``sources``.

    A cited file outside ``sources`` (see :func:`source_path`), unreadable or not UTF-8 is a problem
    of its own; only regular files inside the folder are read.
    """
    cache: dict[str, list[str] | str] = {}
    problems: list[CitationProblem] = []

    def lines_of(file: str) -> list[str] | str:
        """The file's lines, or why there are none."""
        if file not in cache:
            path = source_path(sources, file)
            if path is None:
                cache[file] = f"source file {file} is outside {sources} (name it relative to that folder, without '..')"
            elif not path.exists():
                cache[file] = f"no source file {file} in {sources}"
            else:
                # A folder, device or huge file where a source should be is an error, not a finding.
                data = read_bounded(path, limit=MAX_SOURCE, what="a cited source")
                try:
                    cache[file] = data.decode("utf-8").splitlines()
                except UnicodeDecodeError as exc:
                    cache[file] = f"source file {file} cannot be read as UTF-8 text ({exc})"
        return cache[file]

    items: list[tuple[str, Citation]] = []

    def add(location: Location, what: str, citation: Citation | None) -> None:
        # A citation that knows where its cite is written is named by that place alone (see CitationProblem).
        if citation is not None:
            items.append((what if citation.location else f"{location} {what}", citation))

    for rule in ruleset.rules.values():
        add(rule.location, f"rule {rule.id!r}", rule.citation)
    for derived in ruleset.derived.values():
        for index, requirement in enumerate(derived.requires):
            add(derived.location, f"requirement {index + 1} of derived fact {derived.name!r}", requirement.citation)
    for parameter in ruleset.parameters.values():
        for value in parameter.values:
            add(parameter.location, f"parameter {parameter.name!r} from {value.start}", value.citation)
    for name, citation in (ruleset.local_facts.citations() if ruleset.local_facts else {}).items():
        add(citation.location or Location(ruleset.files[0] if ruleset.files else "?", 1, 1), f"fact {name!r}", citation)
    for where, citation in items:
        lines = lines_of(citation.file)
        problem = lines if isinstance(lines, str) else quote_problem(citation, lines)
        if problem is not None:
            problems.append(CitationProblem(where, citation, problem))
    return problems
