-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "messageAfterPopup" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "messageCooldownDays" INTEGER NOT NULL DEFAULT 1;

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_visitorId_idx" ON "DiscountCode"("shopId", "visitorId");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_customerShopifyId_idx" ON "DiscountCode"("shopId", "customerShopifyId");

