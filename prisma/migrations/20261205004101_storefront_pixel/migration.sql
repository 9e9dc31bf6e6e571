-- AlterTable
ALTER TABLE "Order" ADD COLUMN "visitorId" TEXT;

-- AlterTable
ALTER TABLE "Visitor" ADD COLUMN "pixelKeyHash" TEXT;

-- AlterTable
ALTER TABLE "Segment" ADD COLUMN "visitorSize" INTEGER;
ALTER TABLE "Segment" ADD COLUMN "visitorsAt" DATETIME;

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

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Shop" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "domain" TEXT NOT NULL,
    "name" TEXT,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "ianaTimezone" TEXT NOT NULL DEFAULT 'UTC',
    "installedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uninstalledAt" DATETIME,
    "lastWebhookAt" DATETIME,
    "backfillStatus" TEXT NOT NULL DEFAULT 'pending',
    "backfillAt" DATETIME,
    "reconciledAt" DATETIME,
    "shopifyUpdatedAt" DATETIME,
    "proxyPath" TEXT,
    "primaryDomain" TEXT,
    "messageCooldownDays" INTEGER NOT NULL DEFAULT 1,
    "messageAfterPopup" BOOLEAN NOT NULL DEFAULT false,
    "webPixelId" TEXT
);
INSERT INTO "new_Shop" ("backfillAt", "backfillStatus", "currency", "domain", "ianaTimezone", "id", "installedAt", "lastWebhookAt", "name", "proxyPath", "reconciledAt", "shopifyUpdatedAt", "uninstalledAt") SELECT "backfillAt", "backfillStatus", "currency", "domain", "ianaTimezone", "id", "installedAt", "lastWebhookAt", "name", "proxyPath", "reconciledAt", "shopifyUpdatedAt", "uninstalledAt" FROM "Shop";
DROP TABLE "Shop";
ALTER TABLE "new_Shop" RENAME TO "Shop";
CREATE UNIQUE INDEX "Shop_domain_key" ON "Shop"("domain");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

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

