-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "messageAfterPopup" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "messageCooldownDays" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "primaryDomain" TEXT,
ADD COLUMN     "webPixelId" TEXT;

-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "visitorId" TEXT;

-- AlterTable
ALTER TABLE "Visitor" ADD COLUMN     "pixelKeyHash" TEXT;

-- AlterTable
ALTER TABLE "Segment" ADD COLUMN     "visitorSize" INTEGER,
ADD COLUMN     "visitorsAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "PendingCheckoutLink" (
    "shopId" INTEGER NOT NULL,
    "checkoutToken" TEXT NOT NULL,
    "visitorId" TEXT NOT NULL,
    "orderShopifyId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PendingCheckoutLink_pkey" PRIMARY KEY ("shopId","checkoutToken")
);

-- CreateIndex
CREATE INDEX "PendingCheckoutLink_createdAt_idx" ON "PendingCheckoutLink"("createdAt");

-- CreateIndex
CREATE INDEX "Order_shopId_visitorId_idx" ON "Order"("shopId", "visitorId");

-- CreateIndex
CREATE INDEX "Visitor_shopId_lastSeenAt_idx" ON "Visitor"("shopId", "lastSeenAt");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_visitorId_idx" ON "DiscountCode"("shopId", "visitorId");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_customerShopifyId_idx" ON "DiscountCode"("shopId", "customerShopifyId");

-- AddForeignKey
ALTER TABLE "PendingCheckoutLink" ADD CONSTRAINT "PendingCheckoutLink_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

