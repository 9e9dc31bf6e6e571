-- DropIndex
DROP INDEX "StorefrontEvent_shopId_visitorId_occurredAt_idx";

-- AlterTable
ALTER TABLE "StorefrontEvent" ADD COLUMN     "resourceId" TEXT;

-- AlterTable
ALTER TABLE "Segment" ADD COLUMN     "pushCursor" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "pushError" TEXT,
ADD COLUMN     "pushMetafield" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "pushTag" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "pushedAt" TIMESTAMP(3),
ADD COLUMN     "shopifySegmentId" TEXT,
ADD COLUMN     "sweptAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "StorefrontEvent_shopId_visitorId_type_occurredAt_idx" ON "StorefrontEvent"("shopId", "visitorId", "type", "occurredAt");

