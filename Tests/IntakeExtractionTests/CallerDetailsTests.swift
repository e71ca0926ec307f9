@testable import IntakeExtraction
import Testing

@Suite("Caller details in complaint text")
struct CallerDetailsTests {
    @Test(arguments: [
        ("我的电话是13800138000，请尽快处理", ["13800138000"]),
        ("联系电话：138 0013 8000", ["13800138000"]),
        ("手机138-0013-8000或座机029-88886666", ["13800138000", "02988886666"]),
        ("座机（029）88886666", ["02988886666"]),
        ("打了12345好几次都没人管，我号码１３９１２３４５６７８", ["13912345678"]),
        ("+86 13800138000", ["13800138000"]),
        ("房间号1801，楼号12，面积89.5平", []),
        ("订单号20231125000012345678", []),
    ])
    func findsPhoneNumbers(text: String, phones: [String]) {
        #expect(CallerDetails(scanning: text).phones == phones)
    }

    @Test func findsValidIDNumbersOnly() {
        // 11010519491231002X is the standard's worked example; the second differs in its check digit.
        let details = CallerDetails(scanning: "身份证号11010519491231002X，另一个110105194912310021不对")
        #expect(details.idNumbers == ["11010519491231002X"])
        #expect(details.phones.isEmpty)
        #expect(CallerDetails.idNumber("110105194913310028") == nil, "month 13")
    }
}
