-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "shopifyUpdatedAt" DATETIME;

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "shopifyOrdersCount" INTEGER;
ALTER TABLE "Customer" ADD COLUMN "shopifySpent" INTEGER;
ALTER TABLE "Customer" ADD COLUMN "shopifyTotalsAt" DATETIME;

-- CreateTable
CREATE TABLE "DeletedOrder" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "customerShopifyId" TEXT,
    "deletedAt" DATETIME NOT NULL,
    CONSTRAINT "DeletedOrder_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "DeletedOrder_shopId_shopifyId_key" ON "DeletedOrder"("shopId", "shopifyId");

