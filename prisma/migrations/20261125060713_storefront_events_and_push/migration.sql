-- DropIndex
DROP INDEX "StorefrontEvent_shopId_visitorId_occurredAt_idx";

-- AlterTable
ALTER TABLE "StorefrontEvent" ADD COLUMN "resourceId" TEXT;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Segment" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "handle" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "rule" TEXT NOT NULL,
    "preset" TEXT,
    "minSize" INTEGER NOT NULL DEFAULT 200,
    "maxSize" INTEGER NOT NULL DEFAULT 5000,
    "size" INTEGER NOT NULL DEFAULT 0,
    "computedAt" DATETIME,
    "sweptAt" DATETIME,
    "pushTag" BOOLEAN NOT NULL DEFAULT false,
    "pushMetafield" BOOLEAN NOT NULL DEFAULT false,
    "pushCursor" INTEGER NOT NULL DEFAULT 0,
    "shopifySegmentId" TEXT,
    "pushedAt" DATETIME,
    "pushError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Segment_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Segment" ("computedAt", "createdAt", "description", "handle", "id", "maxSize", "minSize", "name", "preset", "rule", "shopId", "size", "updatedAt") SELECT "computedAt", "createdAt", "description", "handle", "id", "maxSize", "minSize", "name", "preset", "rule", "shopId", "size", "updatedAt" FROM "Segment";
DROP TABLE "Segment";
ALTER TABLE "new_Segment" RENAME TO "Segment";
CREATE UNIQUE INDEX "Segment_shopId_handle_key" ON "Segment"("shopId", "handle");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "StorefrontEvent_shopId_visitorId_type_occurredAt_idx" ON "StorefrontEvent"("shopId", "visitorId", "type", "occurredAt");

