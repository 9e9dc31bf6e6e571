-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "primaryDomain" TEXT;

-- AlterTable
ALTER TABLE "Segment" ADD COLUMN "visitorSize" INTEGER;
ALTER TABLE "Segment" ADD COLUMN "visitorsAt" DATETIME;

-- CreateIndex
CREATE INDEX "Visitor_shopId_lastSeenAt_idx" ON "Visitor"("shopId", "lastSeenAt");

