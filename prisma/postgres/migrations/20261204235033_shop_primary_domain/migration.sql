-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "primaryDomain" TEXT;

-- CreateIndex
CREATE INDEX "Visitor_shopId_lastSeenAt_idx" ON "Visitor"("shopId", "lastSeenAt");

