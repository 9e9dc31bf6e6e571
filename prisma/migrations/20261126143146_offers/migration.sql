-- CreateTable
CREATE TABLE "MessageVariant" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "messageId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "headline" TEXT,
    "body" TEXT,
    "buttonLabel" TEXT,
    "discountValue" INTEGER,
    CONSTRAINT "MessageVariant_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "OfferExposure" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER NOT NULL,
    "unit" TEXT NOT NULL,
    "arm" TEXT NOT NULL,
    "variantId" INTEGER,
    "visitorId" TEXT NOT NULL,
    "customerShopifyId" TEXT,
    "at" DATETIME NOT NULL,
    CONSTRAINT "OfferExposure_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DiscountCode" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER NOT NULL,
    "variantId" INTEGER,
    "code" TEXT NOT NULL,
    "shopifyDiscountId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "visitorId" TEXT,
    "customerShopifyId" TEXT,
    "issuedAt" DATETIME,
    "orderShopifyId" TEXT,
    "redeemedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "DiscountCode_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Message" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "segmentHandle" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "triggerValue" INTEGER,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "pageTypes" TEXT NOT NULL DEFAULT '',
    "pathContains" TEXT NOT NULL DEFAULT '[]',
    "oncePerSession" BOOLEAN NOT NULL DEFAULT true,
    "everyDays" INTEGER,
    "headline" TEXT NOT NULL,
    "body" TEXT NOT NULL DEFAULT '',
    "buttonLabel" TEXT NOT NULL DEFAULT '',
    "buttonUrl" TEXT NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT false,
    "alsoAll" TEXT NOT NULL DEFAULT '[]',
    "anyOf" TEXT NOT NULL DEFAULT '[]',
    "exclude" TEXT NOT NULL DEFAULT '[]',
    "startsAt" DATETIME,
    "endsAt" DATETIME,
    "imageUrl" TEXT NOT NULL DEFAULT '',
    "reward" TEXT NOT NULL DEFAULT 'none',
    "discountKind" TEXT NOT NULL DEFAULT 'percentage',
    "discountValue" INTEGER NOT NULL DEFAULT 10,
    "codeValidDays" INTEGER NOT NULL DEFAULT 7,
    "minimumSubtotal" INTEGER NOT NULL DEFAULT 0,
    "holdoutPercent" INTEGER NOT NULL DEFAULT 10,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Message_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Message" ("active", "body", "buttonLabel", "buttonUrl", "createdAt", "everyDays", "format", "headline", "id", "name", "oncePerSession", "pageTypes", "pathContains", "priority", "segmentHandle", "shopId", "trigger", "triggerValue", "updatedAt") SELECT "active", "body", "buttonLabel", "buttonUrl", "createdAt", "everyDays", "format", "headline", "id", "name", "oncePerSession", "pageTypes", "pathContains", "priority", "segmentHandle", "shopId", "trigger", "triggerValue", "updatedAt" FROM "Message";
DROP TABLE "Message";
ALTER TABLE "new_Message" RENAME TO "Message";
CREATE INDEX "Message_shopId_active_idx" ON "Message"("shopId", "active");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "MessageVariant_messageId_idx" ON "MessageVariant"("messageId");

-- CreateIndex
CREATE INDEX "OfferExposure_shopId_at_idx" ON "OfferExposure"("shopId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "OfferExposure_messageId_unit_key" ON "OfferExposure"("messageId", "unit");

-- CreateIndex
CREATE INDEX "DiscountCode_messageId_status_expiresAt_idx" ON "DiscountCode"("messageId", "status", "expiresAt");

-- CreateIndex
CREATE INDEX "DiscountCode_messageId_visitorId_idx" ON "DiscountCode"("messageId", "visitorId");

-- CreateIndex
CREATE UNIQUE INDEX "DiscountCode_shopId_code_key" ON "DiscountCode"("shopId", "code");

