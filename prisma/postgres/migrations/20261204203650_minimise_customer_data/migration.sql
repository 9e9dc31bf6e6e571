-- AlterTable
ALTER TABLE "Customer" DROP COLUMN "acceptsSmsMarketing",
DROP COLUMN "currency",
DROP COLUMN "locale",
DROP COLUMN "note",
DROP COLUMN "phone",
DROP COLUMN "verifiedEmail";

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

