CREATE TABLE "boards" (
	"name" text COLLATE "C" PRIMARY KEY NOT NULL,
	"epoch" text NOT NULL,
	"epoch_rev" bigint DEFAULT 0 NOT NULL,
	"persisted_rev" bigint DEFAULT 0 NOT NULL,
	"seen_rev" bigint DEFAULT 0 NOT NULL,
	"first_rev" bigint DEFAULT 1 NOT NULL,
	"snapshot_rev" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"board" text COLLATE "C" NOT NULL,
	"rev" bigint NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"pos" integer NOT NULL,
	"type" smallint NOT NULL,
	"version" bigint NOT NULL,
	"value" text,
	"patch" text,
	"actor" text NOT NULL,
	"ts" bigint NOT NULL,
	"raw" text,
	CONSTRAINT "events_board_rev_key" UNIQUE("board","rev","key")
);
--> statement-breakpoint
CREATE TABLE "persist_ranges" (
	"board" text COLLATE "C" NOT NULL,
	"from_rev" bigint NOT NULL,
	"to_rev" bigint NOT NULL,
	CONSTRAINT "persist_ranges_pk" PRIMARY KEY("board","from_rev")
);
--> statement-breakpoint
CREATE TABLE "snapshot_keys" (
	"board" text COLLATE "C" NOT NULL,
	"snap_rev" bigint NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"version" bigint NOT NULL,
	"create_rev" bigint NOT NULL,
	"mod_rev" bigint NOT NULL,
	"value" text NOT NULL,
	CONSTRAINT "snapshot_keys_pk" PRIMARY KEY("board","snap_rev","key")
);
--> statement-breakpoint
CREATE TABLE "snapshots" (
	"board" text COLLATE "C" NOT NULL,
	"rev" bigint NOT NULL,
	"key_count" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "snapshots_pk" PRIMARY KEY("board","rev")
);
--> statement-breakpoint
CREATE INDEX "events_board_key_rev" ON "events" USING btree ("board","key","rev");--> statement-breakpoint
CREATE INDEX "events_created" ON "events" USING btree ("board","key","rev") WHERE "events"."version" = 1;