-- AlterTable
ALTER TABLE "Message" ADD COLUMN "referrerRewardKind" TEXT;
ALTER TABLE "Message" ADD COLUMN "referrerRewardValue" INTEGER;

