CREATE TABLE "cluster" (
	"singleton" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"cluster_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
