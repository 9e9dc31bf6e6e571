-- AlterTable
ALTER TABLE "Message" ADD COLUMN "referrerRewardKind" TEXT;
ALTER TABLE "Message" ADD COLUMN "referrerRewardValue" INTEGER;

-- AlterTable
ALTER TABLE "DataExport" ADD COLUMN "sentAt" DATETIME;
ALTER TABLE "DataExport" ADD COLUMN "sentBy" TEXT;

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
    "webPixelId" TEXT,
    "backfillAttempts" INTEGER NOT NULL DEFAULT 0,
    "backfillRetryAt" DATETIME,
    "segmentReviewedAt" DATETIME,
    "setupDismissedAt" DATETIME,
    "appEmbed" TEXT,
    "appEmbedCheckedAt" DATETIME
);
INSERT INTO "new_Shop" ("backfillAt", "backfillStatus", "currency", "domain", "ianaTimezone", "id", "installedAt", "lastWebhookAt", "messageAfterPopup", "messageCooldownDays", "name", "primaryDomain", "proxyPath", "reconciledAt", "shopifyUpdatedAt", "uninstalledAt", "webPixelId") SELECT "backfillAt", "backfillStatus", "currency", "domain", "ianaTimezone", "id", "installedAt", "lastWebhookAt", "messageAfterPopup", "messageCooldownDays", "name", "primaryDomain", "proxyPath", "reconciledAt", "shopifyUpdatedAt", "uninstalledAt", "webPixelId" FROM "Shop";
DROP TABLE "Shop";
ALTER TABLE "new_Shop" RENAME TO "Shop";
CREATE UNIQUE INDEX "Shop_domain_key" ON "Shop"("domain");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

