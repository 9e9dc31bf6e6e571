-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "shippingAddressHash" TEXT;

-- CreateTable
CREATE TABLE "EmailSignup" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER,
    "email" TEXT NOT NULL,
    "visitorId" TEXT,
    "customerShopifyId" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "syncedAt" TIMESTAMP(3),

    CONSTRAINT "EmailSignup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DataExport" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "customerShopifyId" TEXT,
    "email" TEXT,
    "requestId" TEXT,
    "payload" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DataExport_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "EmailSignup_status_nextAttemptAt_idx" ON "EmailSignup"("status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "EmailSignup_shopId_email_key" ON "EmailSignup"("shopId", "email");

-- CreateIndex
CREATE INDEX "DataExport_shopId_customerShopifyId_idx" ON "DataExport"("shopId", "customerShopifyId");

