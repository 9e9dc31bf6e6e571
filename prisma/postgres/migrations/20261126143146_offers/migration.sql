-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "alsoAll" TEXT NOT NULL DEFAULT '[]',
ADD COLUMN     "anyOf" TEXT NOT NULL DEFAULT '[]',
ADD COLUMN     "codeValidDays" INTEGER NOT NULL DEFAULT 7,
ADD COLUMN     "discountKind" TEXT NOT NULL DEFAULT 'percentage',
ADD COLUMN     "discountValue" INTEGER NOT NULL DEFAULT 10,
ADD COLUMN     "endsAt" TIMESTAMP(3),
ADD COLUMN     "exclude" TEXT NOT NULL DEFAULT '[]',
ADD COLUMN     "holdoutPercent" INTEGER NOT NULL DEFAULT 10,
ADD COLUMN     "imageUrl" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "minimumSubtotal" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "reward" TEXT NOT NULL DEFAULT 'none',
ADD COLUMN     "startsAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "MessageVariant" (
    "id" SERIAL NOT NULL,
    "messageId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "headline" TEXT,
    "body" TEXT,
    "buttonLabel" TEXT,
    "discountValue" INTEGER,

    CONSTRAINT "MessageVariant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OfferExposure" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER NOT NULL,
    "unit" TEXT NOT NULL,
    "arm" TEXT NOT NULL,
    "variantId" INTEGER,
    "visitorId" TEXT NOT NULL,
    "customerShopifyId" TEXT,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OfferExposure_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DiscountCode" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER NOT NULL,
    "variantId" INTEGER,
    "code" TEXT NOT NULL,
    "shopifyDiscountId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "visitorId" TEXT,
    "customerShopifyId" TEXT,
    "issuedAt" TIMESTAMP(3),
    "orderShopifyId" TEXT,
    "redeemedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DiscountCode_pkey" PRIMARY KEY ("id")
);

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

-- AddForeignKey
ALTER TABLE "MessageVariant" ADD CONSTRAINT "MessageVariant_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OfferExposure" ADD CONSTRAINT "OfferExposure_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DiscountCode" ADD CONSTRAINT "DiscountCode_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

