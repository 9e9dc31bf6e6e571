-- CreateTable
CREATE TABLE "ReferralReward" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decidedAt" DATETIME
);

-- CreateIndex
CREATE INDEX "ReferralReward_shopId_referrerCustomerId_idx" ON "ReferralReward"("shopId", "referrerCustomerId");

-- CreateIndex
CREATE UNIQUE INDEX "ReferralReward_shopId_orderShopifyId_key" ON "ReferralReward"("shopId", "orderShopifyId");

