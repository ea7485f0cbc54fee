# `gazette serve` 向读者显示的页面。
# $name：读者姓名（名单中没有姓名时为其地址）；$email：其地址。
page-unsubscribe-title = 退订
page-unsubscribe-question = 要让{ $name } <{ $email }>退订{ site-title }吗？
page-unsubscribe-button = 退订
page-unsubscribed-title = 您已退订
page-unsubscribed-text = { $email }将不再收到{ site-title }的邮件。
page-bad-link-title = 此链接无效
page-bad-link-text = 链接不完整，或在传递中被改动。请使用您最近收到的{ site-title }邮件中的链接。
page-not-found-title = 找不到页面
page-not-found-text = 此地址没有页面。
page-error-title = 出错了
page-error-text = 您的请求没有完成，请过几分钟再试。
page-unsubscribe-preferences = 改为调整接收内容
page-preferences-title = 您的偏好
page-preferences-intro = 选择{ site-title }如何给{ $email }写信。
page-preferences-name = 姓名
page-preferences-language = 简报语言
page-preferences-topics = 话题
page-preferences-topics-hint = 全部不勾选即接收所有报道。
page-preferences-save = 保存
page-preferences-unsubscribe = 改为退订
page-preferences-saved-title = 偏好已保存
page-preferences-saved-text = 您发往{ $email }的下一期简报将按此发送。
