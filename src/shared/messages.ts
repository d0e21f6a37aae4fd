// The one catalogue of log messages, keyed by a log line's `event`. The logger (logger.ts) sets a line's
// `msg` from here, in LOG_LANGUAGE (Chinese by default: the operations guide greps `提交任务`, `错误`,
// `失败`, `超时`, `重试` in the processor's logs). The `event` keys never change, so machine queries
// (`grep '"task.submitted"'`, log pipelines) do not depend on the language. An event missing here keeps
// the message written at the call site; test/shared/messages.test.ts fails when a call site uses an
// event this catalogue does not have.
//
// `{field}` in a message is replaced by that field of the log line when it is present (a missing field
// drops the placeholder), so one message serves the call sites that log more or fewer details.

export const LOG_LANGUAGES = ['zh', 'en'] as const;
export type LogLanguage = (typeof LOG_LANGUAGES)[number];

export interface CatalogueEntry {
  zh: string;
  en: string;
}

export const LOG_MESSAGES: Readonly<Record<string, CatalogueEntry>> = {
  // task processor
  'processor.started': { zh: '任务处理器已启动（最多 {maxRunning} 个并发）', en: 'task processor started (at most {maxRunning} at once)' },
  'processor.signal': { zh: '收到信号 {signal}', en: 'received {signal}' },
  'processor.stopping': { zh: '正在停止：不再领取新任务（进行中 {inFlight}）', en: 'stopping: no new claims ({inFlight} in flight)' },
  'processor.stopped': { zh: '任务处理器已停止', en: 'task processor stopped' },
  'processor.timeline_not_saved': { zh: '无法写入时间线文件：{err}', en: 'could not write the timeline file: {err}' },
  'processor.shutdown_timeout': { zh: '停止超时，强制退出（租约将被回收）', en: 'shutdown timed out; exiting (leases will be recovered)' },
  'processor.database_login_refused': { zh: '数据库连接失败：拒绝登录，请检查 DATABASE_URL 的用户名和密码：{err}', en: 'database connection failed: login refused, check the user and password of DATABASE_URL: {err}' },
  'processor.waiting_for_database': { zh: '数据库未就绪，{retryInMs} 毫秒后重试：{err}', en: 'database not ready, retrying in {retryInMs} ms: {err}' },
  'processor.error': { zh: '处理器错误 {code}：{err}（连续错误 {consecutiveErrors} 次）', en: 'processor error {code}: {err} ({consecutiveErrors} consecutive errors)' },
  'processor.self_heal': { zh: '连续错误 {consecutiveErrors} 次，重新初始化数据库连接和 RunningHub 客户端', en: '{consecutiveErrors} consecutive errors: re-creating the database pool and RunningHub client' },
  'processor.recovered': { zh: '错误后已恢复正常（此前连续错误 {after} 次）', en: 'working again after {after} consecutive errors' },
  'processor.crashed': { zh: '处理循环崩溃（错误）：{err}', en: 'processing loop crashed: {err}' },
  'processor.heartbeat_failed': { zh: '心跳写入失败：{err}', en: 'heartbeat failed: {err}' },
  'processor.listener_lost': { zh: 'LISTEN 连接断开（错误），正在重连：{err}', en: 'LISTEN connection lost, reconnecting: {err}' },
  'task.submitted': { zh: '提交任务到 RunningHub 成功，RunningHub 任务 {runninghubTaskId}', en: 'submitted to RunningHub as task {runninghubTaskId}' },
  'task.succeeded': { zh: '任务成功（{via}）', en: 'task succeeded ({via})' },
  'task.failed': { zh: '任务失败 {code}：{err}', en: 'task failed {code}: {err}' },
  'task.retrying': { zh: '任务将重试（{reason}）{code}：{err}', en: 'task will be retried ({reason}) {code}: {err}' },
  'task.timed_out': { zh: '任务超时，已在 RunningHub 取消', en: 'task timed out; cancelled at RunningHub' },
  'task.cancelled': { zh: '任务已取消（{via}）', en: 'task cancelled ({via})' },
  'task.check_failed': { zh: '查询 RunningHub 任务状态失败 {code}：{err}', en: 'could not ask RunningHub about the task {code}: {err}' },
  'task.node_errors': { zh: 'RunningHub 报告节点错误', en: 'RunningHub reported node errors' },
  'task.orphaned': { zh: '提交任务后领取已被回收，正在取消 RunningHub 任务 {runninghubTaskId}', en: 'claim recovered before the id was stored: cancelling RunningHub task {runninghubTaskId}' },
  'task.orphan_cancel_failed': { zh: '取消孤立的 RunningHub 任务 {runninghubTaskId} 失败：{err}', en: 'could not cancel the orphaned RunningHub task {runninghubTaskId}: {err}' },
  'upload.sent': { zh: '参考图片已上传到 RunningHub：{fileName}（{bytes} 字节）', en: 'reference image uploaded to RunningHub as {fileName} ({bytes} bytes)' },
  'outputs.file_missing': { zh: '输出文件在存储中缺失（错误）', en: 'a kept output file is missing from the output store' },
  'outputs.kept': { zh: '已保存 {count} 个输出文件（{bytes} 字节，{ms} 毫秒）', en: 'kept {count} output file(s) ({bytes} bytes, {ms} ms)' },
  'outputs.download_failed': { zh: '输出文件 {n} 下载失败（第 {attempt} 次），{retryInMs} 毫秒后重试：{err}', en: 'output {n} download failed (attempt {attempt}), retrying in {retryInMs} ms: {err}' },
  'outputs.lease_lost': { zh: '另一个处理器已接手保存这些输出文件', en: 'another processor took over keeping these outputs' },
  'outputs.event_failed': { zh: '输出文件 {n} 已保存，但发送实时事件失败（错误）：{err}', en: 'output {n} kept, but its live event could not be written: {err}' },
  'task.cancel_failed': { zh: '在 RunningHub 取消任务失败 {code}：{err}（下次检查时重试）', en: 'could not cancel the task at RunningHub {code}: {err} (tried again at the next check)' },
  'task.claim_lost': { zh: '领取在提交前已被回收，未提交到 RunningHub（任务留给新的领取）', en: 'claim recovered before the create; nothing sent (the task is left to its new claim)' },
  'task.recovered': { zh: '回收了超时的领取（原处理器 {claimedBy}）', en: 'recovered an expired claim (was {claimedBy})' },
  'callback.delivered': { zh: '回调已送达（HTTP {status}）', en: 'callback delivered (HTTP {status})' },
  'callback.retrying': { zh: '回调失败（错误），{retryInMs} 毫秒后重试：{err}', en: 'callback failed, retrying in {retryInMs} ms: {err}' },
  'callback.gave_up': { zh: '回调最终失败（错误），不再重试：{err}', en: 'callback failed for good: {err}' },
  'callback.pass_failed': { zh: '回调处理失败（错误）：{err}', en: 'callback pass failed: {err}' },
  'retention.pruned': { zh: '已清理过期数据：任务 {tasks}，分镜 {storyboards}，事件 {events}（{mode}）', en: 'pruned finished rows: {tasks} tasks, {storyboards} storyboards, {events} events ({mode})' },
  'retention.failed': { zh: '清理过期数据失败（错误）：{err}', en: 'retention batch failed: {err}' },
  'retention.hook_failed': { zh: '清理后删除保存的输出失败（错误）：{err}', en: 'deleting the kept outputs of pruned tasks failed: {err}' },
  'account.paused': { zh: 'RunningHub 余额不足（{code}）：暂停领取该账户的任务，直到余额恢复', en: 'RunningHub wallet empty ({code}): claiming paused for the account until coins are back' },
  'account.resumed': { zh: 'RunningHub 余额已恢复（{remainCoins}）：继续领取任务', en: 'RunningHub wallet has coins again ({remainCoins}): claiming resumed' },
  'account.still_paused': { zh: 'RunningHub 余额仍为空（第 {checks} 次检查）', en: 'RunningHub wallet still empty (check {checks})' },
  'account.balance_check_failed': { zh: '查询 RunningHub 余额失败 {code}：{err}', en: 'could not ask RunningHub for the balance {code}: {err}' },
  'account.limit_changed': { zh: '账户并发上限跟随 RunningHub：{from} → {to}（报告 {reported}）', en: 'account limit follows RunningHub: {from} → {to} (reported {reported})' },
  'account.limit_check_failed': { zh: '读取 RunningHub 账户并发上限失败 {code}：{err}；沿用 {keeping}', en: 'could not read the account limit from RunningHub {code}: {err}; keeping {keeping}' },
  'account.limit_unusable': { zh: 'RunningHub 报告的并发上限 {reported} 不是不小于 1 的整数；沿用 {keeping}', en: 'RunningHub reported account limit {reported}, not a whole number from 1; keeping {keeping}' },
  'account.limit_update_failed': { zh: '无法保存账户并发上限：{err}；沿用 {keeping}', en: 'could not store the account limit: {err}; keeping {keeping}' },
  'runninghub.v2_missing': { zh: 'RunningHub v2 不支持 {operation}（{code}），改用 v1，{retryInMs} 毫秒后再试 v2', en: 'RunningHub v2 does not serve {operation} ({code}); using v1 for it, v2 again in {retryInMs} ms' },
  'runninghub.call': { zh: '调用 RunningHub {operation}：{code}（{ms} 毫秒）', en: 'RunningHub {operation}: {code} ({ms} ms)' },
  // api
  'events.listener_lost': { zh: '任务事件的 LISTEN 连接断开（错误），正在重连：{err}', en: 'task events LISTEN connection lost, reconnecting: {err}' },
  'events.bad_payload': { zh: '无法解析的任务事件通知（错误）：{problem}', en: 'unreadable task event notification: {problem}' },
  'events.replay_failed': { zh: '读取错过的任务事件失败（错误）：{err}', en: 'could not read the missed task events: {err}' },
  'webhook.received': { zh: '收到 RunningHub 回调', en: 'RunningHub webhook received' },
  'webhook.invalid': { zh: '无法解析的 RunningHub 回调（错误）：{err}', en: 'unreadable RunningHub webhook: {err}' },
  'http.request_errored': { zh: '请求出错（错误）', en: 'request errored' },
  'http.request_failed': { zh: '请求处理失败（内部错误）', en: 'request failed (internal error)' },
  'text.unchecked': { zh: '错误：违反文本规则的文本到达了数据库（边界未检查）', en: 'text that breaks the text rule reached the database' },
  'webhook.text_replaced': { zh: 'webhook 中无法存储的字符已替换为 U+FFFD：{fields}', en: 'webhook text that cannot be stored was replaced with U+FFFD: {fields}' },
  'runninghub.text_replaced': { zh: 'RunningHub 回复中无法存储的字符已替换为 U+FFFD（{operation}）：{fields}', en: 'RunningHub reply text that cannot be stored was replaced with U+FFFD ({operation}): {fields}' },
  'http.database_unavailable': { zh: '数据库不可用（错误），返回 503', en: 'database unavailable, answering 503' },
  'http.readiness_failed': { zh: '就绪检查查询失败（错误）', en: 'readiness query failed' },
  'logger.file_unavailable': { zh: '无法打开日志文件 {file}（错误）：{err}；只写标准输出', en: 'cannot open log file {file}: {err}; logging to stdout only' },
  // RunningHub simulator
  'simulator.listening': { zh: 'RunningHub 模拟器监听于 {url}', en: 'RunningHub simulator listening on {url}' },
  'simulator.start_failed': { zh: '模拟器无法启动（错误）：{err}', en: 'cannot start: {err}' },
  'simulator.stopping': { zh: '模拟器正在停止（{signal}）', en: 'simulator stopping ({signal})' },
  'simulator.stopped': { zh: '模拟器已停止', en: 'simulator stopped' },
  'simulator.stop_failed': { zh: '模拟器停止失败（错误）', en: 'simulator stop failed' },
  'simulator.error': { zh: '模拟器请求处理失败（错误）', en: 'simulator request handler failed' },
  'task.created': { zh: '模拟器创建任务 {taskId}', en: 'simulator task {taskId} created' },
  'task.finished': { zh: '模拟器任务 {taskId} 结束：{status}', en: 'simulator task {taskId} finished: {status}' },
  'webhook.retrying': { zh: '回调失败，{waitMs} 毫秒后重试', en: 'webhook failed, retrying in {waitMs} ms' },
  'webhook.abandoned': { zh: '回调失败 {attempts} 次，放弃', en: 'webhook given up after {attempts} attempts' },
};

function fieldText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Error) return value.message;
  return undefined;
}

/**
 * The message for a log line whose object is `fields`, or undefined when its `event` is not in the
 * catalogue (the caller keeps the call site's own message).
 */
export function catalogueMessage(fields: Readonly<Record<string, unknown>>, language: LogLanguage): string | undefined {
  const event = fields['event'];
  if (typeof event !== 'string') return undefined;
  const entry = LOG_MESSAGES[event];
  if (entry === undefined) return undefined;
  return entry[language]
    .replace(/\{(\w+)\}/g, (_, name: string) => fieldText(fields[name]) ?? '\u0000')
    // A missing field takes its placeholder and any punctuation glued to it with it.
    // eslint-disable-next-line no-control-regex -- U+0000 marks a missing field (it never occurs in a message)
    .replace(/\s*[（(]?\u0000[）)]?[：:]?/g, '')
    .replace(/[：:，,\s]+$/, '')
    .trim();
}
