-- CreateTable
CREATE TABLE "ReferralReward" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "messageId" INTEGER NOT NULL,
    "referrerCustomerId" TEXT NOT NULL,
    "referralCode" TEXT NOT NULL,
    "orderShopifyId" TEXT NOT NULL,
    "friendCustomerId" TEXT,
    "friendEmail" TEXT,
    "orderTotal" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "rewardCode" TEXT,
    "rewardDiscountId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decidedAt" TIMESTAMP(3),

    CONSTRAINT "ReferralReward_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ReferralReward_shopId_referrerCustomerId_idx" ON "ReferralReward"("shopId", "referrerCustomerId");

-- CreateIndex
CREATE UNIQUE INDEX "ReferralReward_shopId_orderShopifyId_key" ON "ReferralReward"("shopId", "orderShopifyId");

