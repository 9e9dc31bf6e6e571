-- AlterTable
ALTER TABLE "Segment" ADD COLUMN "visitorSize" INTEGER;
ALTER TABLE "Segment" ADD COLUMN "visitorsAt" DATETIME;

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
    "messageAfterPopup" BOOLEAN NOT NULL DEFAULT false
);
INSERT INTO "new_Shop" ("backfillAt", "backfillStatus", "currency", "domain", "ianaTimezone", "id", "installedAt", "lastWebhookAt", "name", "proxyPath", "reconciledAt", "shopifyUpdatedAt", "uninstalledAt") SELECT "backfillAt", "backfillStatus", "currency", "domain", "ianaTimezone", "id", "installedAt", "lastWebhookAt", "name", "proxyPath", "reconciledAt", "shopifyUpdatedAt", "uninstalledAt" FROM "Shop";
DROP TABLE "Shop";
ALTER TABLE "new_Shop" RENAME TO "Shop";
CREATE UNIQUE INDEX "Shop_domain_key" ON "Shop"("domain");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Visitor_shopId_lastSeenAt_idx" ON "Visitor"("shopId", "lastSeenAt");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_visitorId_idx" ON "DiscountCode"("shopId", "visitorId");

-- CreateIndex
CREATE INDEX "DiscountCode_shopId_customerShopifyId_idx" ON "DiscountCode"("shopId", "customerShopifyId");

