CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gin;
--> statement-breakpoint
CREATE TABLE "search_docs" (
	"board" text COLLATE "C" NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"rev" bigint NOT NULL,
	"version" bigint NOT NULL,
	"texts" jsonb NOT NULL,
	"tsv" tsvector NOT NULL,
	CONSTRAINT "search_docs_pk" PRIMARY KEY("board","key")
);
--> statement-breakpoint
CREATE INDEX "search_docs_tsv" ON "search_docs" USING gin ("board", "tsv");
--> statement-breakpoint
CREATE TABLE "search_words" (
	"board" text COLLATE "C" NOT NULL,
	"word" text COLLATE "C" NOT NULL,
	CONSTRAINT "search_words_pk" PRIMARY KEY("board","word")
);
--> statement-breakpoint
CREATE INDEX "search_words_trgm" ON "search_words" USING gin ("board", "word" gin_trgm_ops);
--> statement-breakpoint
CREATE TABLE "search_boards" (
	"board" text COLLATE "C" PRIMARY KEY NOT NULL,
	"language" regconfig DEFAULT 'simple' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"built_version" integer NOT NULL
);
--> statement-breakpoint
INSERT INTO "search_state" ("id", "built_version") VALUES (1, 0);
