// i18n.js — every interface string of the page in Chinese (the default) and English, the switch
// between them (kept in localStorage), and the filling of index.html's marked elements.
//
// Text that comes from the server (site names, flag reasons in reason_zh / reason_en, report
// statements stored as "zh / en") is data, not interface: callers pick the field for lang().

const STORAGE_KEY = 'ecgnet.lang';
export const LANGS = ['zh', 'en'];

// key: [Chinese, English]. {name} is replaced by vars.name in t().
const STRINGS = {
  // header, navigation, language, live state
  'nav.label': ['主导航', 'Main'],
  'nav.worklist': ['工作列表', 'Worklist'],
  'nav.calibrate': ['屏幕校准', 'Calibrate screen'],
  'nav.logout': ['退出', 'Log out'],
  'lang.switch': ['English', '中文'],
  'lang.switchLabel': ['切换为英文界面', 'Switch the interface to Chinese'],
  'live.live': ['实时', 'Live'],
  'live.offline': ['离线', 'Offline'],
  'live.liveTitle': ['工作列表实时更新', 'The worklist updates as recordings arrive'],
  'live.offlineTitle': ['实时连接中断：每 30 秒刷新一次，正在重连', 'Live connection lost: refreshing every 30 s while reconnecting'],

  // the critical banner
  'banner.open': ['查看', 'Open'],
  'banner.close': ['关闭', 'Dismiss'],
  'banner.critical': ['危急值', 'Critical'],
  'banner.more': ['另有 {n} 例', '{n} more'],
  'banner.criticalFallback': ['危急', 'critical'],

  // login
  'login.title': ['登录', 'Log in'],
  'login.name': ['用户名', 'User name'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Log in'],
  'login.wrong': ['用户名或密码错误', 'Wrong name or password'],
  'session.ended': ['会话已结束，请重新登录', 'The session ended: log in again'],

  // worklist
  'worklist.title': ['工作列表', 'Worklist'],
  'filter.priority': ['优先级', 'Priority'],
  'filter.all': ['全部', 'All'],
  'filter.critical': ['危急', 'Critical'],
  'filter.urgent': ['紧急及以上', 'Urgent and above'],
  'filter.routine': ['有异常', 'Any flag'],
  'filter.review': ['审阅状态', 'Review'],
  'worklist.caption': ['按优先级和等待时间排序', 'Sorted by priority, then age'],
  'col.priority': ['优先级', 'Priority'],
  'col.waiting': ['等待', 'Waiting'],
  'col.site': ['单位', 'Site'],
  'col.patient': ['患者', 'Patient'],
  'col.recording': ['记录', 'Recording'],
  'col.review': ['审阅', 'Review'],
  'col.flags': ['危急值/异常', 'Flags'],
  'worklist.empty': ['没有记录', 'No recordings'],
  'worklist.updated': ['更新于 {time}', 'Updated {time}'],
  'worklist.error': ['工作列表：{message}', 'Worklist: {message}'],
  'worklist.leads': ['{n} 导联', '{n} leads'],
  'worklist.receiving': ['接收中', 'receiving'],
  'worklist.repeatReason': ['重做原因：{reason}', 'Repeat: {reason}'],

  // priorities and review states
  'priority.0': ['危急', 'Critical'],
  'priority.1': ['紧急', 'Urgent'],
  'priority.2': ['常规', 'Routine'],
  'priority.3': ['无异常标记', 'No flag'],
  'review.new': ['待读', 'New'],
  'review.claimed': ['已认领', 'Claimed'],
  'review.reported': ['已出草稿', 'Draft'],
  'review.signed': ['已签名', 'Signed'],
  'review.repeat': ['要求重做', 'Repeat'],

  // rhythms of the analysis (models/rhythm.h: MIT-BIH rhythm annotation names)
  'rhythm.N': ['窦性心律', 'Sinus rhythm'],
  'rhythm.SBR': ['窦性心动过缓', 'Sinus bradycardia'],
  'rhythm.SVTA': ['室上性心动过速', 'Supraventricular tachyarrhythmia'],
  'rhythm.AFIB': ['心房颤动', 'Atrial fibrillation'],
  'rhythm.AFL': ['心房扑动', 'Atrial flutter'],
  'rhythm.VT': ['室性心动过速', 'Ventricular tachycardia'],
  'rhythm.VFL': ['心室扑动/颤动', 'Ventricular flutter/fibrillation'],
  'rhythm.B': ['室性二联律', 'Ventricular bigeminy'],
  'rhythm.T': ['室性三联律', 'Ventricular trigeminy'],
  'rhythm.IVR': ['室性自主心律', 'Idioventricular rhythm'],
  'rhythm.NOD': ['交界性心律', 'Nodal (junctional) rhythm'],
  'rhythm.P': ['起搏心律', 'Paced rhythm'],
  'rhythm.AB': ['房性二联律', 'Atrial bigeminy'],
  'rhythm.PREX': ['预激', 'Pre-excitation'],
  'rhythm.BII': ['二度房室传导阻滞', '2nd-degree heart block'],
  'rhythm.NOISE': ['噪声', 'Noise'],

  // beat classes (AAMI)
  'beat.N': ['正常', 'Normal'],
  'beat.S': ['室上性早搏', 'Supraventricular ectopic'],
  'beat.V': ['室性早搏', 'Ventricular ectopic'],
  'beat.F': ['融合波', 'Fusion'],
  'beat.Q': ['未分类', 'Unclassified'],

  // times
  'age.s': ['{n} 秒', '{n} s'],
  'age.min': ['{n} 分钟', '{n} min'],
  'age.h': ['{h} 小时 {m} 分钟', '{h} h {m} min'],
  'age.d': ['{n} 天', '{n} d'],
  'unit.min': ['{n} 分钟', '{n} min'],

  // the viewer
  'viewer.back': ['← 返回', '← Back'],
  'viewer.title': ['心电图', 'ECG'],
  'viewer.titleFull': ['心电图 #{id} · {site} · {who} · {review}', 'ECG #{id} · {site} · {who} · {review}'],
  'viewer.titleId': ['心电图 #{id}', 'ECG #{id}'],
  'viewer.speed': ['走纸速度', 'Speed'],
  'viewer.gain': ['增益', 'Gain'],
  'viewer.compare': ['与前次对比', 'Compare with previous'],
  'viewer.paper': ['心电图走纸', 'ECG paper'],
  'viewer.tracing': ['心电图', 'ECG tracing'],
  'viewer.calipersHint': ['测量：在图上按住拖动。', 'Calipers: click and drag on the tracing.'],
  'viewer.side': ['测量与报告', 'Measurements and report'],
  'viewer.refused': ['无此记录或无权查看', 'No such recording, or not yours to see'],
  'viewer.cannotOpen': ['无法打开', 'Cannot open'],
  'viewer.noSignal': ['信号无法读取：{message}', 'The signal cannot be read: {message}'],
  'viewer.rhythmStrip': ['{lead} 节律', '{lead} rhythm'],
  'viewer.aria12': ['12 导联心电图，{from}–{to}，{speed} mm/s，{gain} mm/mV', '12-lead ECG, {from}–{to}, {speed} mm/s, {gain} mm/mV'],
  'viewer.ariaStrip': ['心电图条图，{n} 导联，{from}–{to}', 'ECG strip, {n} leads, {from}–{to}'],
  'compare.title': ['与前次对比', 'Serial comparison'],

  // measurements
  'meas.title': ['机器测量', 'Machine measurements'],
  'meas.patient': ['患者', 'Patient'],
  'meas.site': ['单位', 'Site'],
  'meas.recorded': ['采集', 'Recorded'],
  'meas.recordedValue': ['{when} · {n} 导联 · {fs} Hz · {s} 秒', '{when} · {n} leads · {fs} Hz · {s} s'],
  'meas.analysis': ['分析', 'Analysis'],
  'meas.stillReceiving': ['接收中', 'still receiving'],
  'meas.noneYet': ['尚无', 'none yet'],
  'meas.heartRate': ['心率', 'Heart rate'],
  'meas.rhythm': ['节律', 'Rhythm'],
  'meas.beats': ['心搏', 'Beats'],
  'meas.events': ['事件', 'Events'],
  'meas.poorSignal': ['信号质量差', 'Poor signal'],
  'meas.firstRead': ['首次阅读', 'First read'],
  'meas.toDiagnosis': ['诊断用时', 'ECG to diagnosis'],

  // flags
  'flags.title': ['标记', 'Flags'],
  'flags.none': ['无标记', 'No flags'],

  // the report
  'report.title': ['报告', 'Report'],
  'report.statements': ['诊断语句', 'Statements'],
  'report.search': ['搜索', 'Search'],
  'report.options': ['可选语句', 'Statements to add'],
  'report.chosen': ['已选语句', 'Chosen statements'],
  'report.freeText': ['补充描述', 'Free text'],
  'report.claim': ['认领', 'Claim'],
  'report.release': ['放弃', 'Release'],
  'report.save': ['保存草稿', 'Save draft'],
  'report.sign': ['签名', 'Sign'],
  'report.amend': ['修订', 'Amend'],
  'report.repeat': ['要求重做', 'Repeat the ECG'],
  'report.history': ['历史版本', 'History'],
  'report.historyNone': ['无', 'None'],
  'report.remove': ['删除：{text}', 'Remove: {text}'],
  'report.noReport': ['尚无报告', 'No report yet'],
  'report.catalogueError': ['诊断语句列表无法读取：{message}', 'The statement list cannot be read: {message}'],
  'report.stateReview': ['审阅：{review}', 'Review: {review}'],
  'report.stateClaimedBy': ['认领人 {name}', 'claimed by {name}'],
  'report.stateVersion': ['第 {v} 版', 'version {v}'],
  'report.stateSigned': ['{name} 已签名 {when}', 'signed by {name} {when}'],
  'report.stateDraft': ['草稿', 'draft'],
  'report.stateRepeat': ['重做原因：{reason}', 'Repeat reason: {reason}'],
  'report.historySigned': ['{name} 签名 {when}', 'signed by {name} {when}'],
  'report.historyDraft': ['{name} 的草稿', 'draft by {name}'],
  'report.historyAmends': ['修订 v{v}', 'amends v{v}'],

  // the signed report's downloads
  'report.exports': ['下载已签名报告：', 'Download the signed report:'],
  'report.exportPdf': ['PDF（打印）', 'PDF (to print)'],
  'report.exportHl7': ['HL7 v2', 'HL7 v2'],
  'report.exportFhir': ['FHIR', 'FHIR'],

  // critical values (危急值): the viewer's panel and the red notices
  'crit.title': ['危急值', 'Critical value'],
  'crit.finding': ['危急值内容', 'Finding'],
  'crit.notified': ['已电话通知（基层人员姓名或工号）', 'Told at the clinic (name or staff id)'],
  'crit.time': ['通知时间', 'Time of the call'],
  'crit.confirm': ['确认危急值', 'Confirm critical value'],
  'crit.needFinding': ['请填写危急值内容', 'Write what was found'],
  'crit.needNotified': ['请填写已通知的基层人员（姓名或工号）', 'Name whom at the clinic you told (name or staff id)'],
  'crit.badTime': ['通知时间无效', 'The time of the call is not a valid time'],
  'crit.findingLabel': ['内容', 'Finding'],
  'crit.confirmedBy': ['确认', 'Confirmed'],
  'crit.told': ['已通知', 'Told'],
  'crit.byWhen': ['{name} · {when}', '{name} · {when}'],
  'crit.status': ['状态', 'Status'],
  'crit.acked': ['{name} 已确认收到 · {when}', 'acknowledged by {name} · {when}'],
  'crit.awaiting': ['等待基层确认收到，截止 {time}', 'awaiting acknowledgement, due {time}'],
  'crit.escalated': ['已升级：截止 {due} 未确认收到，{time} 起已再次通知所有值班医师',
    'escalated: not acknowledged by {due}; shown again to every cardiologist on duty since {time}'],
  'crit.escalatedNote': ['曾于 {time} 升级', 'escalated at {time}'],
  'crit.ack': ['确认收到', 'Acknowledge'],
  'crit.open': ['查看', 'Open'],
  'crit.noPatient': ['记录 #{id}', 'recording #{id}'],
  'crit.bannerLabel': ['危急值通知', 'Critical value notices'],
  'crit.bannerClinic': ['危急值：患者 {patient} — {finding}（{by} 于 {time} 确认，已电话通知 {notified}）',
    'Critical value: patient {patient} — {finding} (confirmed by {by} at {time}, told {notified})'],
  'crit.bannerEscalated': ['未确认危急值：{site}，{patient}，{by} 于 {time} 确认，已通知 {notified} — {finding}',
    'Unacknowledged critical value: {site}, {patient}, confirmed by {by} at {time}, told {notified} — {finding}'],
  'crit.ackFailed': ['确认收到失败：{message}', 'Could not acknowledge: {message}'],
  'crit.listError': ['危急值通知：{message}', 'Critical values: {message}'],

  // dialogs
  'pw.title': ['再次输入密码以签名', 'Enter your password again to sign'],
  'pw.password': ['密码', 'Password'],
  'pw.ok': ['确认签名', 'Sign'],
  'dialog.cancel': ['取消', 'Cancel'],
  'repeat.title': ['要求基层重做心电图', 'Ask the clinic to record the ECG again'],
  'repeat.reason': ['原因（基层可见）', 'Reason (the clinic reads it)'],
  'repeat.send': ['发送', 'Send'],
  'cal.title': ['屏幕校准', 'Screen calibration'],
  'cal.help': [
    '把一张银行卡（85.6 毫米宽）贴在屏幕上，拖动滑块直到蓝框与卡片一样宽。此后心电图纸上的 10 毫米在屏幕上就是 10 毫米。',
    'Hold a bank card (85.6 mm wide) to the screen and move the slider until the blue box is exactly as wide as the card. Then 10 mm on the ECG paper is 10 mm on this screen.',
  ],
  'cal.width': ['宽度', 'Width'],
  'cal.reset': ['恢复默认（96 dpi）', 'Default (96 dpi)'],
  'cal.save': ['保存', 'Save'],

  // serial comparison
  'cmp.loading': ['加载中…', 'Loading…'],
  'cmp.noPatient': ['此记录无患者编号，无法查找既往心电图', 'This recording has no patient id: no earlier ECGs can be found'],
  'cmp.noEarlier': ['该患者无既往心电图', 'No earlier ECG of this patient'],
  'cmp.rate': ['心率', 'Heart rate'],
  'cmp.rateNone': ['无法比较', 'not available'],
  'cmp.rhythmBefore': ['既往节律', 'Rhythm before'],
  'cmp.rhythmNow': ['本次节律', 'Rhythm now'],
  'cmp.rhythmChange': ['节律变化', 'Rhythm change'],
  'cmp.new': ['新出现：{x}', 'new: {x}'],
  'cmp.gone': ['消失：{x}', 'gone: {x}'],
  'cmp.unchanged': ['无变化', 'unchanged'],
  'cmp.prevReport': ['既往报告', 'Previous report'],
  'cmp.notSigned': ['未签名', 'not signed'],
  'cmp.thisEcg': ['本次', 'This ECG'],
  'cmp.prevEcg': ['前次', 'Previous ECG'],

  // calipers
  'calipers.bpm': ['{n} 次/分', '{n} bpm'],

  // API errors the page itself words
  'api.unreachable': ['服务器无法连接（{message}）', 'The server cannot be reached ({message})'],
  'api.unreadable': ['服务器回答无法解析（{path}）', "The server's answer cannot be read ({path})"],
};

let current = readStored();
const listeners = new Set();

function readStored() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return LANGS.includes(v) ? v : 'zh';
  } catch {
    return 'zh'; // storage disabled: the default
  }
}

/** The interface language: "zh" (default) or "en". */
export function lang() {
  return current;
}

/** Switches to L ("zh" or "en"), remembers it, fills the page's marked elements and tells every
 * listener (which re-render what they drew). */
export function setLang(l) {
  if (!LANGS.includes(l)) throw new RangeError(`unknown language ${l}`);
  current = l;
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    /* not remembered: still switched */
  }
  translatePage();
  for (const fn of listeners) fn(l);
}

/** Calls FN(lang) after every switch. */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** The string KEY in the current language with {name} replaced by VARS.name; the key itself when
 * unknown (visible, so a missing entry is noticed rather than blank). */
export function t(key, vars) {
  const e = STRINGS[key];
  let s = e ? e[current === 'en' ? 1 : 0] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/** 1 when KEY is a known string. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(STRINGS, key);
}

/** The keys that lack a Chinese or an English text (the browser test wants none). */
export function incomplete() {
  return Object.keys(STRINGS).filter((k) => !(Array.isArray(STRINGS[k]) && STRINGS[k].length === 2 && STRINGS[k].every((x) => x)));
}

/** The field of a server object in the current language: pick(flag, 'reason') is reason_zh or
 * reason_en, falling back to the other when one is empty. */
export function pick(obj, field) {
  const a = obj[`${field}_${current}`], b = obj[`${field}_${current === 'en' ? 'zh' : 'en'}`];
  return a || b || '';
}

/** Fills ROOT's elements marked data-i18n="key" (text) and data-i18n-attr="attr:key;attr:key"
 * (attributes), and sets <html lang>. */
export function translatePage(root = document) {
  document.documentElement.lang = current === 'en' ? 'en' : 'zh-CN';
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll('[data-i18n-attr]'))
    for (const pair of e.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) e.setAttribute(attr.trim(), t(key.trim()));
    }
}
