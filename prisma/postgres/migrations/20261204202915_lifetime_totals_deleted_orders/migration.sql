-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "shopifyUpdatedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN     "shopifyOrdersCount" INTEGER,
ADD COLUMN     "shopifySpent" INTEGER,
ADD COLUMN     "shopifyTotalsAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "DeletedOrder" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "customerShopifyId" TEXT,
    "deletedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DeletedOrder_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DeletedOrder_shopId_shopifyId_key" ON "DeletedOrder"("shopId", "shopifyId");

-- AddForeignKey
ALTER TABLE "DeletedOrder" ADD CONSTRAINT "DeletedOrder_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

