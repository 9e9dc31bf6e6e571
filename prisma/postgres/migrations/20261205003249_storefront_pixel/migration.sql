-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "messageAfterPopup" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "messageCooldownDays" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "primaryDomain" TEXT;

-- AlterTable
ALTER TABLE "Segment" ADD COLUMN     "visitorSize" INTEGER,
ADD COLUMN     "visitorsAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Visitor_shopId_lastSeenAt_idx" ON "Visitor"("shopId", "lastSeenAt");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_visitorId_idx" ON "DiscountCode"("shopId", "visitorId");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_customerShopifyId_idx" ON "DiscountCode"("shopId", "customerShopifyId");

