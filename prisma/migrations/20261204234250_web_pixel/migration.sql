-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "webPixelId" TEXT;

-- AlterTable
ALTER TABLE "Order" ADD COLUMN "visitorId" TEXT;

-- AlterTable
ALTER TABLE "Visitor" ADD COLUMN "pixelKeyHash" TEXT;

-- CreateTable
CREATE TABLE "PendingCheckoutLink" (
    "shopId" INTEGER NOT NULL,
    "checkoutToken" TEXT NOT NULL,
    "visitorId" TEXT NOT NULL,
    "orderShopifyId" TEXT,
    "createdAt" DATETIME NOT NULL,

    PRIMARY KEY ("shopId", "checkoutToken"),
    CONSTRAINT "PendingCheckoutLink_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "PendingCheckoutLink_createdAt_idx" ON "PendingCheckoutLink"("createdAt");

-- CreateIndex
CREATE INDEX "Order_shopId_visitorId_idx" ON "Order"("shopId", "visitorId");

