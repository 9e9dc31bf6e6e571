-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "primaryDomain" TEXT;

-- AlterTable
ALTER TABLE "Segment" ADD COLUMN     "visitorSize" INTEGER,
ADD COLUMN     "visitorsAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Visitor_shopId_lastSeenAt_idx" ON "Visitor"("shopId", "lastSeenAt");

