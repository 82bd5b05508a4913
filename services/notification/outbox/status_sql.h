/* status_sql.h - the one SQL definition of how status reports change a message (the
 * one-way order sent < delivered < read, failed terminal), shared by the statement that
 * applies a webhook's statuses (api/store.c) and the one that applies the statuses that
 * arrived before their send's answer (outbox.c). Text to splice into a statement. */
#ifndef NOTIFICATION_OUTBOX_STATUS_SQL_H
#define NOTIFICATION_OUTBOX_STATUS_SQL_H

/* Applies the events of the CTE "ev" (wamid, status, ts, error_code, error_message,
 * callback_id, ord) and leaves the CTEs "matched" (each event with its message_id or
 * NULL) and "upd" (one row, n = its events, per message that changed). A message that
 * learns its recipient's user id also records it as that user's phone ("users",
 * whatsapp_user_phones of migration 0020: the newest message that named the user wins).
 *
 * The messages are locked in id order first (FOR UPDATE returns their latest version,
 * and nobody can change them until the commit), so the next status is computed once,
 * from the row as it is: the furthest of sent/delivered/read, then failed, which does
 * not override read (see whatsapp_status_merge()). Timestamps are only ever filled,
 * never overwritten; delivered_at and read_at are never earlier than the step before
 * them (Meta reports whole seconds, sent_at is our millisecond), the reported times are
 * kept as they came; failed and skipped messages do not change at all. A message that
 * becomes sent, delivered or read loses the error a transient failure left on it (a
 * request that timed out here but that Graph accepted: its statuses arrive while the row
 * waits for its retry), and leaves the queue (next_attempt_at). "merged" is MATERIALIZED so that
 * the second whatsapp_status_merge() gets a plain column: PostgreSQL then inlines both calls
 * instead of running a SQL function per row. */
#define APPLY_EVENTS                                                                               \
    " matched AS ("                                                                                \
    "  SELECT ev.*, coalesce("                                                                     \
    "   (SELECT m.id FROM whatsapp_messages m WHERE m.wamid = ev.wamid),"                          \
    "   (SELECT m.id FROM whatsapp_messages m WHERE m.id = ev.callback_id"                         \
    "     AND m.wamid IS NULL)) AS message_id FROM ev),"                                           \
    " agg AS ("                                                                                    \
    "  SELECT message_id, count(*) AS n, min(wamid) AS wamid,"                                     \
    "   (array_agg(status ORDER BY whatsapp_status_rank(status) DESC)"                             \
    "    FILTER (WHERE status <> 'failed'))[1] AS best,"                                           \
    "   CASE WHEN bool_or(status = 'failed') THEN 'failed' END AS failed,"                         \
    "   to_timestamp(min(ts) FILTER (WHERE status = 'sent')) AS sent_ts,"                          \
    "   to_timestamp(min(ts) FILTER (WHERE status = 'delivered')) AS delivered_ts,"                \
    "   to_timestamp(min(ts) FILTER (WHERE status = 'read')) AS read_ts,"                          \
    "   to_timestamp(min(ts) FILTER (WHERE status = 'failed')) AS failed_ts,"                      \
    "   (array_agg(error_code ORDER BY ts, ord)"                                                   \
    "    FILTER (WHERE status = 'failed'))[1] AS error_code,"                                      \
    "   (array_agg(error_message ORDER BY ts, ord)"                                                \
    "    FILTER (WHERE status = 'failed'))[1] AS error_message,"                                   \
    "   (array_agg(pricing ORDER BY whatsapp_status_rank(status) DESC, ts DESC, ord DESC)"         \
    "    FILTER (WHERE pricing IS NOT NULL))[1] AS pricing,"                                       \
    "   max(user_id) AS user_id"                                                                   \
    "  FROM matched WHERE message_id IS NOT NULL GROUP BY message_id),"                            \
    " locked AS ("                                                                                 \
    "  SELECT m.id, m.status, m.wamid, m.sent_at, m.delivered_at, m.read_at, m.pricing,"           \
    "   m.recipient_user_id, m.recipient_phone, m.created_at"                                      \
    "  FROM whatsapp_messages m WHERE m.id = ANY (ARRAY(SELECT message_id FROM agg))"              \
    "  ORDER BY m.id FOR UPDATE),"                                                                 \
    " merged AS MATERIALIZED ("                                                                    \
    "  SELECT a.*, l.status AS was, whatsapp_status_merge(l.status, a.best) AS mid,"               \
    "   l.recipient_user_id AS had_user, l.recipient_phone AS phone, l.created_at,"                \
    "   (l.wamid IS NULL OR (l.sent_at IS NULL AND a.sent_ts IS NOT NULL)"                         \
    "    OR (l.delivered_at IS NULL AND a.delivered_ts IS NOT NULL)"                               \
    "    OR (l.read_at IS NULL AND a.read_ts IS NOT NULL)"                                         \
    "    OR (a.pricing IS NOT NULL AND l.pricing IS DISTINCT FROM a.pricing)"                      \
    "    OR (a.user_id IS NOT NULL AND l.recipient_user_id IS DISTINCT FROM a.user_id)) AS fills"  \
    "  FROM locked l JOIN agg a ON a.message_id = l.id"                                            \
    "  WHERE l.status NOT IN ('failed', 'skipped')),"                                              \
    " users AS ("                                                                                  \
    "  INSERT INTO whatsapp_user_phones (user_id, phone, message_created_at)"                      \
    "  SELECT DISTINCT ON (c.user_id) c.user_id, c.phone, c.created_at FROM merged c"              \
    "  WHERE c.user_id IS NOT NULL AND c.user_id IS DISTINCT FROM c.had_user"                      \
    "  ORDER BY c.user_id, c.created_at DESC"                                                      \
    "  ON CONFLICT (user_id) DO UPDATE SET phone = EXCLUDED.phone,"                                \
    "   message_created_at = EXCLUDED.message_created_at"                                          \
    "  WHERE EXCLUDED.message_created_at >= whatsapp_user_phones.message_created_at),"             \
    " calc AS (SELECT c.*, whatsapp_status_merge(c.mid, c.failed) AS next FROM merged c),"         \
    " upd AS ("                                                                                    \
    "  UPDATE whatsapp_messages m SET status = c.next,"                                            \
    "   wamid = coalesce(m.wamid, c.wamid),"                                                       \
    "   sent_at = coalesce(m.sent_at, c.sent_ts),"                                                 \
    "   delivered_at = coalesce(m.delivered_at, CASE WHEN c.delivered_ts IS NOT NULL"              \
    "    THEN greatest(c.delivered_ts, m.sent_at, c.sent_ts) END),"                                \
    "   read_at = coalesce(m.read_at, CASE WHEN c.read_ts IS NOT NULL"                             \
    "    THEN greatest(c.read_ts, m.delivered_at, c.delivered_ts, m.sent_at, c.sent_ts) END),"     \
    "   delivered_reported_at = coalesce(m.delivered_reported_at, c.delivered_ts),"                \
    "   read_reported_at = coalesce(m.read_reported_at, c.read_ts),"                               \
    "   pricing = coalesce(c.pricing, m.pricing),"                                                 \
    "   recipient_user_id = coalesce(c.user_id, m.recipient_user_id),"                             \
    "   failed_at = CASE WHEN c.next = 'failed'"                                                   \
    "    THEN coalesce(m.failed_at, c.failed_ts) ELSE m.failed_at END,"                            \
    "   error_code = CASE WHEN c.next = 'failed'"                                                  \
    "    THEN coalesce(c.error_code, m.error_code) END,"                                           \
    "   error_message = CASE WHEN c.next = 'failed'"                                               \
    "    THEN coalesce(c.error_message, m.error_message) END,"                                     \
    "   next_attempt_at = CASE WHEN c.next IN ('queued', 'sending')"                               \
    "    THEN m.next_attempt_at END,"                                                              \
    "   updated_at = now()"                                                                        \
    "  FROM calc c WHERE m.id = c.message_id AND (c.next <> c.was OR c.fills)"                     \
    "   AND m.id = ANY (ARRAY(SELECT message_id FROM calc))"                                       \
    "  RETURNING c.n)"

#endif
