-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "proxyPath" TEXT,
ADD COLUMN     "shopifyUpdatedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Customer" DROP COLUMN "acceptsSmsMarketing",
DROP COLUMN "currency",
DROP COLUMN "locale",
DROP COLUMN "note",
DROP COLUMN "phone",
DROP COLUMN "verifiedEmail",
ADD COLUMN     "shopifyOrdersCount" INTEGER,
ADD COLUMN     "shopifySpent" INTEGER,
ADD COLUMN     "shopifyTotalsAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Order" DROP COLUMN "landingSite",
DROP COLUMN "referringSite";

-- AlterTable
ALTER TABLE "Refund" DROP COLUMN "note";

-- AlterTable
ALTER TABLE "Cart" DROP COLUMN "note";

-- AlterTable
ALTER TABLE "Checkout" DROP COLUMN "abandonedCheckoutUrl",
DROP COLUMN "closedAt";

-- CreateTable
CREATE TABLE "DeletedOrder" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "customerShopifyId" TEXT,
    "deletedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DeletedOrder_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AnonymousCount" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "day" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "resourceId" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "AnonymousCount_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DeletedOrder_shopId_shopifyId_key" ON "DeletedOrder"("shopId", "shopifyId");

-- CreateIndex
CREATE UNIQUE INDEX "AnonymousCount_shopId_day_type_resourceId_key" ON "AnonymousCount"("shopId", "day", "type", "resourceId");

-- AddForeignKey
ALTER TABLE "DeletedOrder" ADD CONSTRAINT "DeletedOrder_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AnonymousCount" ADD CONSTRAINT "AnonymousCount_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

