-- The md5 of the text a document's tsvector was computed from (its key's words and its
-- value's strings and member names): a put whose text is unchanged keeps the tsvector
-- (a status or counter moved, say) instead of computing and indexing it again. NULL for
-- documents written before it, which are computed once more at their next put.
ALTER TABLE "search_docs" ADD COLUMN "source_md5" uuid;
--> statement-breakpoint
-- Room on each page for a document's new version beside the old: unchanged text leaves
-- the indexed columns as they were, so the update stays on its page (HOT) and leaves the indexes alone.
ALTER TABLE "search_docs" SET (fillfactor = 80);
