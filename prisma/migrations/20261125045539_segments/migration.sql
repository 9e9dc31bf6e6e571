-- CreateTable
CREATE TABLE "Segment" (
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Segment_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SegmentMember" (
    "segmentId" INTEGER NOT NULL,
    "customerShopifyId" TEXT NOT NULL,
    "since" DATETIME NOT NULL,

    PRIMARY KEY ("segmentId", "customerShopifyId"),
    CONSTRAINT "SegmentMember_segmentId_fkey" FOREIGN KEY ("segmentId") REFERENCES "Segment" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SegmentChange" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "segmentId" INTEGER NOT NULL,
    "customerShopifyId" TEXT NOT NULL,
    "joined" BOOLEAN NOT NULL,
    "at" DATETIME NOT NULL,
    CONSTRAINT "SegmentChange_segmentId_fkey" FOREIGN KEY ("segmentId") REFERENCES "Segment" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Segment_shopId_handle_key" ON "Segment"("shopId", "handle");

-- CreateIndex
CREATE INDEX "SegmentMember_customerShopifyId_idx" ON "SegmentMember"("customerShopifyId");

-- CreateIndex
CREATE INDEX "SegmentChange_segmentId_at_idx" ON "SegmentChange"("segmentId", "at");

