-- AlterTable
ALTER TABLE "Order" ADD COLUMN "shippingAddressHash" TEXT;

-- CreateTable
CREATE TABLE "EmailSignup" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER,
    "email" TEXT NOT NULL,
    "visitorId" TEXT,
    "customerShopifyId" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "syncedAt" DATETIME
);

-- CreateTable
CREATE TABLE "DataExport" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "customerShopifyId" TEXT,
    "email" TEXT,
    "requestId" TEXT,
    "payload" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE INDEX "EmailSignup_status_nextAttemptAt_idx" ON "EmailSignup"("status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "EmailSignup_shopId_email_key" ON "EmailSignup"("shopId", "email");

-- CreateIndex
CREATE INDEX "DataExport_shopId_customerShopifyId_idx" ON "DataExport"("shopId", "customerShopifyId");

